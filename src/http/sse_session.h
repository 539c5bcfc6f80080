// One open SSE stream (spec §1.1, §4, §5): the response head, the snapshot or replay, then live
// frames from the subscriber's outbox, heartbeats, token expiry and the end of the stream.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <optional>

#include "auth/claims.h"
#include "core/event.h"
#include "http/services.h"
#include "hub/connection_limiter.h"
#include "hub/shard.h"

namespace herald::http {

// Everything a stream needs once the request was authenticated and admitted.
struct StreamRequest {
  Stream stream = Stream::kAgui;
  auth::Claims claims;
  std::optional<ContextId> context;  // ?context_id= filter
  std::optional<EventId> cursor;     // Last-Event-ID or ?last_event_id=, when well-formed
  hub::ConnectionLimiter::Lease lease;
  std::optional<hub::ClusterPresence::Slot> cluster_slot;  // cluster mode: counted on every node
  std::string extra_head;  // response header lines (CRLF-ended) beyond the fixed ones: CORS
  bool chunked = true;     // HTTP/1.1: chunked, never ended cleanly; HTTP/1.0: close-delimited
};

// Runs on `shard` until the stream ends. Coroutine parameters are values; `shard` and
// `services` outlive every session. The steps are in http/sse_session_steps.h, a template over
// the stream type; this is its TCP instantiation.
boost::asio::awaitable<void> RunSseSession(boost::asio::ip::tcp::socket socket, hub::Shard* shard,
                                           StreamRequest request, Services* services);

}  // namespace herald::http
