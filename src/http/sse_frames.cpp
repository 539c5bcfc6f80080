#include "http/sse_frames.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <random>

#include "core/sse.h"
#include "core/time_format.h"

namespace herald::http {

namespace {

constexpr std::string_view kResponseHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n";
// HTTP/1.1 streams are chunked and never send the last chunk: every end the hub makes (drain,
// eviction, admin disconnect, token expiry, a crash) is an incomplete body, which a fetch-based
// reader sees as an error and retries, where a clean end would stop it for good. EventSource
// reconnects either way. HTTP/1.0 has no chunking: its body ends with the connection.
constexpr std::string_view kChunkedHead = "Transfer-Encoding: chunked\r\n";

std::string Rfc3339(std::int64_t unix_ms) {
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

// CONTEXTS_SNAPSHOT with the snake_case entries of spec §3.1, newest first: at most the newest
// --snapshot-max-contexts, with how many there are in all and whether some were left out.
std::string SnapshotJson(const store::ContextsView& view,
                         std::chrono::system_clock::time_point now) {
  boost::json::array entries;
  entries.reserve(view.contexts.size());
  for (const store::ContextRecord& context : view.contexts) {
    boost::json::object entry;
    entry["context_id"] = context.id.str();
    entry["name"] = context.name;
    entry["created_at"] = Rfc3339(context.created_at_ms);
    entry["updated_at"] = Rfc3339(context.updated_at_ms);
    entry["message_count"] = context.message_count;
    entry["task_count"] = context.task_count;
    entries.emplace_back(std::move(entry));
  }
  boost::json::object event;
  event["type"] = "CONTEXTS_SNAPSHOT";
  event["contexts"] = std::move(entries);
  event["total"] = view.total;
  event["truncated"] = view.total > view.contexts.size();
  event["timestamp"] = FormatRfc3339(now);
  return sse::WrapEvent(Protocol::kSystem, boost::json::serialize(event));
}

}  // namespace

std::string ResponseHead(bool chunked, std::string_view extra_head) {
  std::string head(kResponseHead);
  if (chunked) head += kChunkedHead;
  head += extra_head;
  head += "\r\n";
  return head;
}

Opening PlanOpening(const StreamRequest& request, const store::ContextsView& view,
                    std::uint32_t history, const HttpOptions& options, ConnectionId connection,
                    std::chrono::system_clock::time_point now) {
  const bool contexts_stream = request.stream == Stream::kContexts;
  const store::UserRange range = view.range;
  Opening opening;
  opening.plan = hub::PlanResume(request.cursor, history, range);
  const hub::ResumeKind kind = opening.plan.kind;
  // Where the stream starts ("<history>-0" before the user's first event). A stream that does
  // not resume hands it to the client before any event (in the connected event, the snapshot
  // or the reset), so ending before its first event still leaves the client a cursor.
  const std::string position = FormatEventId(EventId{history, range.last});
  if (kind == hub::ResumeKind::kFresh && !contexts_stream) {
    opening.frames =
        options.compat_frames
            ? sse::ConnectedPreamble(options.client_retry, "ok", position, connection.value())
            : sse::PositionPreamble(options.client_retry, "ok", position);
  } else {
    opening.frames = sse::Preamble(options.client_retry, "ok");
  }
  if (kind == hub::ResumeKind::kReplay) {
    opening.floor = opening.plan.after_sequence;
  } else if (contexts_stream) {
    opening.floor = range.last;
    opening.frames += sse::DataFrame(position, SnapshotJson(view, now));
  } else {
    opening.floor = range.last;
    if (kind == hub::ResumeKind::kReset) {
      opening.frames += sse::ResetFrame(position, opening.plan.reset_reason);
    }
  }
  return opening;
}

std::string ReplayFrames(const store::ReplayPage& page, Stream stream, std::uint64_t& after) {
  std::string frames;
  for (const StoredEvent& e : page.events) {
    sse::AppendEventFrame(frames, e.id, e.protocol, e.json, stream == Stream::kContexts);
    after = e.id.sequence;
  }
  return frames;
}

std::string AuthExpiringFrame(std::chrono::system_clock::time_point expires_at) {
  boost::json::object event;
  event["type"] = "AUTH_EXPIRING";
  event["expiresAt"] = FormatRfc3339(expires_at);
  return sse::NamedFrame("auth_expiring", boost::json::serialize(event));
}

std::string_view HeartbeatFrame(const HttpOptions& options) {
  return options.heartbeat_style == HeartbeatStyle::kEvent ? sse::kHeartbeatEvent
                                                           : sse::kHeartbeatComment;
}

std::chrono::milliseconds DrainRetry(const HttpOptions& options) {
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto low = options.client_retry.count();
  const auto high = std::max(low, options.drain_window.count());
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(low, high)(random));
}

}  // namespace herald::http
