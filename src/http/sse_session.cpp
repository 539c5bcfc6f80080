#include "http/sse_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <random>
#include <vector>

#include "core/sse.h"
#include "core/time_format.h"
#include "http/offload.h"
#include "hub/resume.h"

namespace herald::http {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

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
constexpr std::size_t kMaxFramesPerWrite = 256;

// The socket and the wake-up timer. Shared with the peer watcher, which may outlive the
// coroutine by one callback.
struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  bool peer_gone = false;
  bool chunked = false;
  std::array<char, 64> scratch{};
  std::array<char, 20> chunk_size{};       // "<hex size>\r\n" of the write in flight
  std::vector<asio::const_buffer> gather;  // that line, the payload, "\r\n"
  // The rest of a write the hub cancelled (closing the stream) after it had sent part of it:
  // sent before the stream ends, so that the stream ends on a whole chunk and a whole frame.
  std::string unsent;
};

// Notices the peer closing while the stream is idle: a readable socket means EOF (or bytes the
// client should not send on an SSE connection, which are read and ignored).
void WatchPeer(std::shared_ptr<Connection> connection) {
  Connection& c = *connection;
  c.socket.async_wait(tcp::socket::wait_read, [connection](boost::system::error_code ec) {
    Connection& c = *connection;
    if (ec == asio::error::operation_aborted && c.socket.is_open() && !c.peer_gone) {
      WatchPeer(std::move(connection));  // cancelled by a closing subscriber: keep watching
      return;
    }
    if (!ec) {
      boost::system::error_code read_ec;
      const std::size_t n = c.socket.read_some(asio::buffer(c.scratch), read_ec);
      if ((!read_ec && n > 0) || read_ec == asio::error::would_block) {
        WatchPeer(std::move(connection));
        return;
      }
    }
    c.peer_gone = true;
    c.timer.cancel();
    boost::system::error_code ignored;
    c.socket.cancel(ignored);
  });
}

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

std::string AuthExpiringJson(std::chrono::system_clock::time_point expires_at) {
  boost::json::object event;
  event["type"] = "AUTH_EXPIRING";
  event["expiresAt"] = FormatRfc3339(expires_at);
  return boost::json::serialize(event);
}

std::chrono::milliseconds DrainRetry(const HttpOptions& options) {
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto low = options.client_retry.count();
  const auto high = std::max(low, options.drain_window.count());
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(low, high)(random));
}

// Writes `buffers` (as one chunk on a chunked stream) after `head` (the response head, sent with
// the first frames), marking the write for the shard's stall watchdog.
template <class Buffers>
asio::awaitable<boost::system::error_code> Write(Connection& c, hub::Subscriber& subscriber,
                                                 const Buffers& buffers,
                                                 std::string_view head = {}) {
  c.gather.clear();
  if (!head.empty()) c.gather.push_back(asio::buffer(head));
  const std::size_t size = asio::buffer_size(buffers);
  if (c.chunked) {
    const auto* end = fmt::format_to(c.chunk_size.data(), "{:x}\r\n", size);
    c.gather.push_back(asio::buffer(c.chunk_size.data(), end - c.chunk_size.data()));
  }
  for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
       ++it) {
    c.gather.push_back(*it);
  }
  if (c.chunked) c.gather.push_back(asio::buffer("\r\n", 2));
  subscriber.MarkWriteStarted(Clock::now());
  auto [ec, n] =
      co_await asio::async_write(c.socket, c.gather, asio::as_tuple(asio::use_awaitable));
  subscriber.MarkWriteDone();
  if (ec == asio::error::operation_aborted && n > 0) {  // cancelled by a close, part sent
    for (const asio::const_buffer& b : c.gather) {
      const std::size_t skip = std::min(n, b.size());
      n -= skip;
      c.unsent.append(static_cast<const char*>(b.data()) + skip, b.size() - skip);
    }
  }
  co_return ec;
}

// Sends what a cancelled write left unsent, within `limit`. Returns whether it all went.
// `connection` by reference (the caller's outlives this): GCC 12 mishandles coroutine parameters
// that own memory (http/server.cpp); the timer's handler holds its own copy.
asio::awaitable<bool> FinishCancelledWrite(const std::shared_ptr<Connection>& connection,
                                           std::chrono::milliseconds limit) {
  Connection& c = *connection;
  if (c.unsent.empty()) co_return true;
  asio::steady_timer deadline(c.socket.get_executor());
  deadline.expires_after(limit);
  deadline.async_wait([connection](boost::system::error_code ec) {
    boost::system::error_code ignored;
    if (!ec) connection->socket.cancel(ignored);
  });
  auto [ec, n] = co_await asio::async_write(c.socket, asio::buffer(c.unsent),
                                            asio::as_tuple(asio::use_awaitable));
  deadline.cancel();
  co_return !ec;
}

}  // namespace

asio::awaitable<void> RunSseSession(tcp::socket socket, hub::Shard* shard, StreamRequest request,
                                    Services* services) {
  hub::Hub& hub = services->hub;
  const HttpOptions& options = services->options;
  hub::Metrics& metrics = hub.metrics();
  const UserId user = request.claims.user;

  auto connection = std::make_shared<Connection>(std::move(socket));
  Connection& c = *connection;
  c.chunked = request.chunked;
  boost::system::error_code option_ec;
  c.socket.set_option(tcp::no_delay(true), option_ec);
  c.socket.non_blocking(true, option_ec);

  hub::Subscriber subscriber(hub.NextConnectionId(), user, request.stream, request.context,
                             hub.options().outbox, &shard->queued_bytes(), [&c](bool closing) {
                               c.timer.cancel();
                               if (closing) {
                                 boost::system::error_code ignored;
                                 c.socket.cancel(ignored);
                               }
                             });
  // Registered before the store is read: every event committed after that read reaches the
  // outbox, and the sequence floor below drops what the snapshot or replay already covered.
  hub::Registration registration(shard->registry(), subscriber);
  metrics.ConnectionOpened(request.stream);
  spdlog::info("stream opened stream={} connection={}", StreamName(request.stream),
               subscriber.id().value());

  hub::DisconnectReason reason = hub::DisconnectReason::kClientGone;
  std::uint64_t floor = 0;  // highest sequence the client has (snapshot or replay)
  auto last_write = Clock::now();
  const auto end_with = [&](hub::DisconnectReason r) { reason = r; };
  // A failed write ends the stream: closed by the hub (its reason) or by the peer.
  const auto write_failed = [&] {
    end_with(subscriber.closed() ? *subscriber.close_reason() : hub::DisconnectReason::kClientGone);
  };
  bool alive = true;

  // 1. The user's range (the contexts stream: with its contexts, in one store snapshot, so the
  // snapshot reflects exactly the events up to range.last), then the response head and the first
  // bytes (spec §5), in one write with the snapshot or reset frame.
  const std::uint32_t history = hub.History();
  const bool contexts_stream = request.stream == Stream::kContexts;
  const auto read = [&](bool with_contexts) {
    std::optional<store::ContextQuery> contexts;
    if (with_contexts) {
      contexts.emplace();
      contexts->only = request.context;
      contexts->limit = options.snapshot_max_contexts;
    }
    return Offload(hub.store_pool(),
                   [&hub, &user, contexts] { return hub.ReadView(user, contexts); });
  };
  // A contexts stream that resumes needs no snapshot: read its contexts only if it cannot.
  auto view = co_await read(contexts_stream && !request.cursor);
  if (contexts_stream && request.cursor && view.ok() &&
      hub::PlanResume(request.cursor, history, view.value->range).kind !=
          hub::ResumeKind::kReplay) {
    view = co_await read(true);
  }
  hub::ResumePlan plan;
  std::string head(kResponseHead);
  if (c.chunked) head += kChunkedHead;
  head += request.extra_head;
  head += "\r\n";
  std::string opening;
  if (!view.ok()) {
    // Still a 200 that ends at once: a browser's EventSource retries it, a 503 it would not.
    metrics.StoreError();
    spdlog::warn("stream store read failed: {}", view.error.message);
    opening += sse::Preamble(options.client_retry, "ok");
    end_with(hub::DisconnectReason::kError);
  } else {
    const store::UserRange range = view.value->range;
    plan = hub::PlanResume(request.cursor, history, range);
    if (plan.kind != hub::ResumeKind::kFresh)
      metrics.ReplayServed(plan.kind == hub::ResumeKind::kReset);
    // Where the stream starts ("<history>-0" before the user's first event). A stream that does
    // not resume hands it to the client before any event (in the connected event, the snapshot
    // or the reset), so ending before its first event still leaves the client a cursor.
    const std::string position = FormatEventId(EventId{history, range.last});
    if (plan.kind == hub::ResumeKind::kFresh && !contexts_stream) {
      opening += options.compat_frames
                     ? sse::ConnectedPreamble(options.client_retry, "ok", position,
                                              subscriber.id().value())
                     : sse::PositionPreamble(options.client_retry, "ok", position);
    } else {
      opening += sse::Preamble(options.client_retry, "ok");
    }
    if (plan.kind == hub::ResumeKind::kReplay) {
      floor = plan.after_sequence;
    } else if (contexts_stream) {
      floor = range.last;
      opening += sse::DataFrame(position, SnapshotJson(*view.value, hub.Now()));
    } else {
      floor = range.last;
      if (plan.kind == hub::ResumeKind::kReset) {
        opening += sse::ResetFrame(position, plan.reset_reason);
      }
    }
  }
  if (co_await Write(c, subscriber, asio::buffer(opening), head)) {
    write_failed();
    alive = false;
  }
  if (!view.ok()) alive = false;
  if (alive) WatchPeer(connection);

  // 2. Replay (spec §4): the stored events after the cursor, in pages, then live.
  if (alive && plan.kind == hub::ResumeKind::kReplay) {
    const store::ReplayFilter filter{request.stream, request.context};
    std::uint64_t after = plan.after_sequence;
    for (bool more = true; more && alive;) {
      auto page = co_await Offload(
          hub.store_pool(), [&hub, &user, after, &filter, limit = options.replay_page_events] {
            return hub.ReadAfter(user, after, filter, limit);
          });
      if (!page.ok()) {
        metrics.StoreError();
        end_with(hub::DisconnectReason::kError);
        alive = false;
        break;
      }
      std::string frames;
      for (const StoredEvent& e : page.value->events) {
        const std::string id = FormatEventId(e.id);
        frames += request.stream == Stream::kContexts
                      ? sse::DataFrame(id, sse::WrapEvent(e.protocol, e.json))
                      : sse::DataFrame(id, e.json);
        after = e.id.sequence;
      }
      more = page.value->more && !page.value->events.empty();
      if (!frames.empty() && co_await Write(c, subscriber, asio::buffer(frames))) {
        write_failed();
        alive = false;
      }
    }
    // Everything up to the range read is covered, even events the filter skipped.
    floor = std::max(after, view.value->range.last);
  }
  last_write = Clock::now();

  // 3. Live: frames from the outbox, heartbeats, token expiry.
  const auto system_now = hub.Now();
  const auto steady_now = Clock::now();
  const auto expires_at = steady_now + (request.claims.expires_at - system_now);
  const auto expiring_at = expires_at - options.auth_expiring_lead;
  bool expiring_sent = !options.compat_frames;  // --compat-frames=false: never sent
  const std::string_view heartbeat = options.heartbeat_style == HeartbeatStyle::kEvent
                                         ? sse::kHeartbeatEvent
                                         : sse::kHeartbeatComment;
  std::vector<hub::QueuedFrame> batch;
  std::vector<asio::const_buffer> buffers;
  while (alive) {
    if (c.peer_gone) {
      end_with(hub::DisconnectReason::kClientGone);
      break;
    }
    if (subscriber.closed()) {
      end_with(*subscriber.close_reason());
      break;
    }
    if (!subscriber.outbox().empty()) {
      subscriber.outbox().TakeFront(kMaxFramesPerWrite, batch);
      buffers.clear();
      for (const hub::QueuedFrame& f : batch) {
        if (f.sequence != 0 && f.sequence <= floor) continue;  // already in snapshot/replay
        buffers.push_back(asio::buffer(*f.frame));
        floor = std::max(floor, f.sequence);
      }
      if (!buffers.empty()) {
        if (co_await Write(c, subscriber, buffers)) {
          write_failed();
          break;
        }
        last_write = Clock::now();
      }
      continue;
    }
    const auto now = Clock::now();
    if (now >= expires_at) {
      end_with(hub::DisconnectReason::kAuthExpired);
      break;
    }
    if (!expiring_sent && now >= expiring_at) {
      expiring_sent = true;
      const std::string frame =
          sse::NamedFrame("auth_expiring", AuthExpiringJson(request.claims.expires_at));
      if (co_await Write(c, subscriber, asio::buffer(frame))) {
        write_failed();
        break;
      }
      last_write = Clock::now();
      continue;
    }
    if (now >= last_write + options.heartbeat_interval) {
      if (co_await Write(c, subscriber, asio::buffer(heartbeat))) {
        write_failed();
        break;
      }
      last_write = Clock::now();
      continue;
    }
    auto wake_at = std::min(last_write + options.heartbeat_interval, expires_at);
    if (!expiring_sent) wake_at = std::min(wake_at, expiring_at);
    c.timer.expires_at(wake_at);
    co_await c.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  // 4. The end: unregister first so no more frames are queued, finish a frame a closing cut in
  // two, then say goodbye.
  registration.Release();
  metrics.StreamEnded(reason);
  spdlog::info("stream closed stream={} connection={} reason={}", StreamName(request.stream),
               subscriber.id().value(), hub::DisconnectReasonName(reason));
  bool abort = false;  // the peer cannot be left whole frames: an abortive close
  if (!c.peer_gone && !c.unsent.empty()) {
    // Free the user's slot first: for a slow consumer this may take the whole grace.
    request.lease = {};
    request.cluster_slot.reset();
    abort = !co_await FinishCancelledWrite(connection, options.eviction_grace);
  }
  if (reason == hub::DisconnectReason::kDrain && !c.peer_gone && !abort) {
    const std::string frame = sse::RetryFrame(DrainRetry(options));
    co_await Write(c, subscriber, asio::buffer(frame));
  }
  metrics.ConnectionClosed(request.stream);  // a drain waits for this (app/serve.cpp)
  boost::system::error_code ignored;
  if (abort) {
    c.socket.set_option(asio::socket_base::linger(true, 0), ignored);
  } else if (reason == hub::DisconnectReason::kSlowConsumer && !c.peer_gone) {
    // What the kernel still holds for the peer ends with a whole frame: a client that reads
    // again gets those frames, then the (incomplete) end, and resumes after the last event it
    // has whole. An abortive close at once would cut a frame in two, and a client that takes an
    // `id:` line before its frame completes (@microsoft/fetch-event-source) would then skip that
    // event. A peer that has not read to the end within the grace gets the abortive close, which
    // drops the kernel's copy. The user's stream slot is free meanwhile.
    request.lease = {};
    request.cluster_slot.reset();
    c.socket.shutdown(tcp::socket::shutdown_send, ignored);
    c.timer.expires_after(options.eviction_grace);
    co_await c.timer.async_wait(asio::as_tuple(asio::use_awaitable));  // ended early by EOF
    if (!c.peer_gone) c.socket.set_option(asio::socket_base::linger(true, 0), ignored);
  } else {
    c.socket.shutdown(tcp::socket::shutdown_both, ignored);
  }
  c.socket.close(ignored);
  c.timer.cancel();
}

}  // namespace herald::http
