// The SSE session's steps, top-down (docs/ARCHITECTURE.md "SSE session"):
//
//   SseSession()    open: the connection, the subscriber, its registration in the shard
//   SendOpening()   read the user's range (and contexts) off the shard, then one write: the
//                   response head, the preamble and the snapshot or reset frame
//   Replay()        the stored events after the cursor, in pages
//   Live()          outbox frames, heartbeats, auth_expiring, the end at token expiry
//   End()           unregister, finish a cut frame, the drain's retry frame, then close
//
// A template over the stream type (http/sse_transport.h says why); instantiated for TCP in
// http/sse_session.cpp and over an in-memory stream in tests. Times come from hub.clock()
// (http/sse_connection.h says how a sleeping session wakes).
//
// Thread rule: owning shard only; one object per stream, living in RunSseSessionOn's frame, so
// the steps (member coroutines) may take `this`.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/sse.h"
#include "http/offload.h"
#include "http/services.h"
#include "http/sse_connection.h"
#include "http/sse_frames.h"
#include "http/sse_session.h"
#include "hub/resume.h"
#include "hub/shard.h"

namespace herald::http {

template <class IoStream>
class SseSession {
 public:
  using Transport = SseTransport<IoStream>;
  using Instant = std::chrono::steady_clock::time_point;

  SseSession(IoStream stream, hub::Shard* shard, StreamRequest request, Services* services);
  SseSession(const SseSession&) = delete;
  SseSession& operator=(const SseSession&) = delete;
  SseSession(SseSession&&) = delete;
  SseSession& operator=(SseSession&&) = delete;
  ~SseSession() = default;

  boost::asio::awaitable<void> Run() {
    co_await SendOpening();
    if (alive_) co_await Replay();
    last_write_ = clock_.Monotonic();
    if (alive_) co_await Live();
    co_await End();
  }

 private:
  boost::asio::awaitable<void> SendOpening();
  boost::asio::awaitable<void> Replay();
  boost::asio::awaitable<void> Live();
  struct LiveDeadlines {
    Instant expires_at;   // the token's expiry: the stream ends
    Instant expiring_at;  // auth_expiring is sent
    bool expiring_sent = false;
  };
  enum class LiveStep { kEnd, kNothing, kWrite, kSleep };
  LiveStep NextLiveStep(LiveDeadlines& deadlines, Instant& wake_at);
  bool CollectOutbox();
  boost::asio::awaitable<void> End();
  boost::asio::awaitable<void> CloseStream(bool abort);

  // A failed write ends the stream: closed by the hub (its reason) or by the peer.
  void WriteFailed() {
    reason_ =
        subscriber_.closed() ? *subscriber_.close_reason() : hub::DisconnectReason::kClientGone;
    alive_ = false;
  }
  // Gives the user's stream slot back before the stream's last (bounded) wait.
  void FreeSlot() {
    request_.lease = {};
    request_.cluster_slot.reset();
  }

  hub::Hub& hub_;
  const HttpOptions& options_;
  hub::Metrics& metrics_;
  const Clock& clock_;
  StreamRequest request_;
  std::shared_ptr<Connection<IoStream>> connection_;
  Connection<IoStream>& c_;
  hub::Subscriber subscriber_;
  hub::Registration registration_;
  hub::DisconnectReason reason_ = hub::DisconnectReason::kClientGone;
  bool alive_ = true;
  std::uint64_t floor_ = 0;  // highest sequence the client has (snapshot or replay)
  Instant last_write_{};
  hub::ResumePlan plan_;
  std::uint64_t range_last_ = 0;  // the newest sequence of the user's range read on open
  std::vector<hub::QueuedFrame> batch_;
  std::vector<boost::asio::const_buffer> buffers_;
  std::string control_frame_;  // the auth_expiring frame while it is written
};

// Open: the connection and the subscriber, registered before the store is read, so that every
// event committed after that read reaches the outbox and the sequence floor drops what the
// snapshot or replay already covered.
template <class IoStream>
SseSession<IoStream>::SseSession(IoStream stream, hub::Shard* shard, StreamRequest request,
                                 Services* services)
    : hub_(services->hub),
      options_(services->options),
      metrics_(hub_.metrics()),
      clock_(hub_.clock()),
      request_(std::move(request)),
      connection_(
          std::make_shared<Connection<IoStream>>(std::move(stream), clock_, request_.chunked)),
      c_(*connection_),
      subscriber_(hub_.NextConnectionId(), request_.claims.user, request_.stream, request_.context,
                  hub_.options().outbox, &shard->queued_bytes(),
                  [c = &c_](bool closing) {
                    c->timer.cancel();
                    if (closing) Transport::Cancel(c->stream);
                  }),
      registration_(shard->registry(), subscriber_) {
  Transport::Prepare(c_.stream);
  Transport::AttachWake(c_.stream, [weak = std::weak_ptr(connection_)] {
    if (auto c = weak.lock()) c->timer.cancel();
  });
  metrics_.ConnectionOpened(request_.stream);
  spdlog::info("stream opened stream={} connection={}", StreamName(request_.stream),
               subscriber_.id().value());
}

// Runs on `shard` until the stream ends: the steps above. Parameters are values.
template <class IoStream>
boost::asio::awaitable<void> RunSseSessionOn(IoStream stream, hub::Shard* shard,
                                             StreamRequest request, Services* services) {
  SseSession<IoStream> session(std::move(stream), shard, std::move(request), services);
  // clang-tidy 14 counts the coroutine's implicit parameter copies as uses of `request` here.
  co_await session.Run();  // NOLINT(bugprone-use-after-move)
}

// Reads the user's range (the contexts stream: with its contexts, in one store snapshot, so the
// snapshot reflects exactly the events up to range.last) off the shard, then writes the response
// head and the first bytes (spec §5) in one write with the snapshot or reset frame.
template <class IoStream>
boost::asio::awaitable<void> SseSession<IoStream>::SendOpening() {
  const std::uint32_t history = hub_.History();
  const bool contexts_stream = request_.stream == Stream::kContexts;
  const auto read = [this](bool with_contexts) {
    std::optional<store::ContextQuery> contexts;
    if (with_contexts) {
      contexts.emplace();
      contexts->only = request_.context;
      contexts->limit = options_.snapshot_max_contexts;
    }
    return Offload(hub_.store_pool(), [&hub = hub_, &user = request_.claims.user, contexts] {
      return hub.ReadView(user, contexts);
    });
  };
  // A contexts stream that resumes needs no snapshot: read its contexts only if it cannot.
  auto view = co_await read(contexts_stream && !request_.cursor);
  if (contexts_stream && request_.cursor && view.has_value() &&
      hub::PlanResume(request_.cursor, history, view->range).kind != hub::ResumeKind::kReplay) {
    view = co_await read(true);
  }
  const std::string head = ResponseHead(c_.chunked, request_.extra_head);
  std::string frames;
  if (!view.has_value()) {
    // Still a 200 that ends at once: a browser's EventSource retries it, a 503 it would not.
    metrics_.StoreError();
    spdlog::warn("stream store read failed: {}", view.error().message);
    frames = sse::Preamble(options_.client_retry, "ok");
    reason_ = hub::DisconnectReason::kError;
  } else {
    Opening opening = PlanOpening(request_, *view, history, options_, subscriber_.id(), hub_.Now());
    if (opening.plan.kind != hub::ResumeKind::kFresh)
      metrics_.ReplayServed(opening.plan.kind == hub::ResumeKind::kReset);
    plan_ = std::move(opening.plan);
    frames = std::move(opening.frames);
    floor_ = opening.floor;
    range_last_ = view->range.last;
  }
  if (co_await Write(c_, subscriber_, boost::asio::buffer(frames), head)) WriteFailed();
  if (!view.has_value()) alive_ = false;
  if (alive_) WatchPeer(connection_);
}

// Replay (spec §4): the stored events after the cursor, in pages, then live.
template <class IoStream>
boost::asio::awaitable<void> SseSession<IoStream>::Replay() {
  if (plan_.kind != hub::ResumeKind::kReplay) co_return;
  const store::ReplayFilter filter{request_.stream, request_.context};
  std::uint64_t after = plan_.after_sequence;
  for (bool more = true; more && alive_;) {
    auto page =
        co_await Offload(hub_.store_pool(), [&hub = hub_, &user = request_.claims.user, after,
                                             &filter, limit = options_.replay_page_events] {
          return hub.ReadAfter(user, after, filter, limit);
        });
    if (!page.has_value()) {
      metrics_.StoreError();
      reason_ = hub::DisconnectReason::kError;
      alive_ = false;
      break;
    }
    const std::string frames = ReplayFrames(*page, request_.stream, after);
    more = page->more && !page->events.empty();
    if (!frames.empty() && co_await Write(c_, subscriber_, boost::asio::buffer(frames))) {
      WriteFailed();
    }
  }
  // Everything up to the range read is covered, even events the filter skipped.
  floor_ = std::max(after, range_last_);
}

// Live: frames from the outbox (above the floor: the snapshot or replay had the others),
// heartbeats after a quiet interval, auth_expiring ahead of the token's expiry, and the end at
// it. Sleeps until the next of those deadlines or a wake-up. The decisions are NextLiveStep's;
// this loop only writes and sleeps (the sleep inline: no coroutine frame per sleep).
template <class IoStream>
boost::asio::awaitable<void> SseSession<IoStream>::Live() {
  const Instant expires_at = clock_.Monotonic() + (request_.claims.expires_at - clock_.Now());
  LiveDeadlines deadlines{expires_at, expires_at - options_.auth_expiring_lead,
                          !options_.compat_frames};  // --compat-frames=false: never sent
  while (alive_) {
    Instant wake_at{};
    switch (NextLiveStep(deadlines, wake_at)) {
      case LiveStep::kEnd:
        co_return;
      case LiveStep::kNothing:
        continue;
      case LiveStep::kWrite:
        if (co_await Write(c_, subscriber_, buffers_)) {
          WriteFailed();
          co_return;
        }
        last_write_ = clock_.Monotonic();
        continue;
      case LiveStep::kSleep:
        c_.timer.expires_after(wake_at - clock_.Monotonic());
        co_await c_.timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        continue;
    }
  }
}

// The live loop's next step, in order of precedence: the end (peer gone, closed by the hub, token
// expired), the outbox's frames, auth_expiring, a heartbeat, or a sleep until `wake_at`. A write
// leaves its frames in buffers_; an end leaves its reason in reason_.
template <class IoStream>
auto SseSession<IoStream>::NextLiveStep(LiveDeadlines& deadlines, Instant& wake_at) -> LiveStep {
  if (c_.peer_gone) {
    reason_ = hub::DisconnectReason::kClientGone;
    return LiveStep::kEnd;
  }
  if (subscriber_.closed()) {
    reason_ = *subscriber_.close_reason();
    return LiveStep::kEnd;
  }
  if (!subscriber_.outbox().empty()) return CollectOutbox() ? LiveStep::kWrite : LiveStep::kNothing;
  const Instant now = clock_.Monotonic();
  if (now >= deadlines.expires_at) {
    reason_ = hub::DisconnectReason::kAuthExpired;
    return LiveStep::kEnd;
  }
  if (!deadlines.expiring_sent && now >= deadlines.expiring_at) {
    deadlines.expiring_sent = true;
    control_frame_ = AuthExpiringFrame(request_.claims.expires_at);
    buffers_.assign(1, boost::asio::buffer(control_frame_));
    return LiveStep::kWrite;
  }
  const Instant heartbeat_at = last_write_ + options_.heartbeat_interval;
  if (now >= heartbeat_at) {
    buffers_.assign(1, boost::asio::buffer(HeartbeatFrame(options_)));
    return LiveStep::kWrite;
  }
  wake_at = std::min(heartbeat_at, deadlines.expires_at);
  if (!deadlines.expiring_sent) wake_at = std::min(wake_at, deadlines.expiring_at);
  return LiveStep::kSleep;
}

// Takes up to kMaxFramesPerWrite frames from the outbox into buffers_, skipping those at or below
// the floor. Returns whether there is anything to write.
template <class IoStream>
bool SseSession<IoStream>::CollectOutbox() {
  subscriber_.outbox().TakeFront(kMaxFramesPerWrite, batch_);
  buffers_.clear();
  for (const hub::QueuedFrame& f : batch_) {
    if (f.sequence != 0 && f.sequence <= floor_) continue;  // already in snapshot/replay
    buffers_.push_back(boost::asio::buffer(*f.frame));
    floor_ = std::max(floor_, f.sequence);
  }
  return !buffers_.empty();
}

// The end: unregister first so no more frames are queued, finish a frame a closing cut in two,
// then say goodbye.
template <class IoStream>
boost::asio::awaitable<void> SseSession<IoStream>::End() {
  registration_.Release();
  metrics_.StreamEnded(reason_);
  spdlog::info("stream closed stream={} connection={} reason={}", StreamName(request_.stream),
               subscriber_.id().value(), hub::DisconnectReasonName(reason_));
  bool abort = false;  // the peer cannot be left whole frames: an abortive close
  if (!c_.peer_gone && !c_.unsent.empty()) {
    FreeSlot();  // for a slow consumer this may take the whole grace
    abort = !co_await FinishCancelledWrite(connection_, options_.eviction_grace);
  }
  if (reason_ == hub::DisconnectReason::kDrain && !c_.peer_gone && !abort) {
    const std::string frame = sse::RetryFrame(DrainRetry(options_));
    co_await Write(c_, subscriber_, boost::asio::buffer(frame));
  }
  metrics_.ConnectionClosed(request_.stream);  // a drain waits for this (app/serve.cpp)
  co_await CloseStream(abort);
}

// Closes the stream: abortively, half (a slow consumer), or whole.
template <class IoStream>
boost::asio::awaitable<void> SseSession<IoStream>::CloseStream(bool abort) {
  if (abort) {
    Transport::AbortOnClose(c_.stream);
  } else if (reason_ == hub::DisconnectReason::kSlowConsumer && !c_.peer_gone) {
    // What the kernel still holds for the peer ends with a whole frame: a client that reads
    // again gets those frames, then the (incomplete) end, and resumes after the last event it
    // has whole. An abortive close at once would cut a frame in two, and a client that takes an
    // `id:` line before its frame completes (@microsoft/fetch-event-source) would then skip that
    // event. A peer that has not read to the end within the grace gets the abortive close, which
    // drops the kernel's copy. The user's stream slot is free meanwhile.
    FreeSlot();
    Transport::ShutdownSend(c_.stream);
    const Instant grace_end = clock_.Monotonic() + options_.eviction_grace;
    while (!c_.peer_gone && clock_.Monotonic() < grace_end) {
      co_await SleepUntil(c_, grace_end);  // ended early by EOF
    }
    if (!c_.peer_gone) Transport::AbortOnClose(c_.stream);
  } else {
    Transport::ShutdownBoth(c_.stream);
  }
  Transport::Close(c_.stream);
  c_.timer.cancel();
}

}  // namespace herald::http
