#include "http/stream_admission.h"

#include <chrono>
#include <utility>

#include "http/authenticate.h"
#include "http/offload.h"

namespace herald::http {

namespace asio = boost::asio;

namespace {

Error TooManyConnections() {
  return Error{ErrorCode::kRateLimited,
               "Too many open connections for this user on this stream.",
               {},
               std::chrono::seconds(5)};
}

}  // namespace

Result<StreamRequest> PrepareStream(const Request& request, const RouteMatch& match,
                                    Requester& requester, Services& services) {
  auto caller = AuthenticateAndCharge(request, match.query, services,
                                      hub::RateLimitKind::kStreamOpen, requester);
  if (!caller) return caller.error();
  if (services.draining.load()) {
    return Error{
        ErrorCode::kServiceUnavailable, "The hub is shutting down.", {}, std::chrono::seconds(1)};
  }

  StreamRequest stream;
  stream.stream = StreamOf(match.route);
  stream.claims = *std::move(caller);
  if (auto context = QueryParam(match.query, "context_id")) {
    if (!IsValidContextId(*context)) {
      return Error{ErrorCode::kBadRequest, "Malformed context_id.", {}, {}};
    }
    stream.context = ContextId(std::move(*context));
  }
  // Last-Event-ID wins over ?last_event_id=; a malformed value is treated as absent.
  const auto header = request.find("Last-Event-ID");
  if (header != request.end()) {
    stream.cursor = ParseEventId(header->value());
  } else if (auto cursor = QueryParam(match.query, "last_event_id")) {
    stream.cursor = ParseEventId(*cursor);
  }
  stream.chunked = request.version() >= 11;
  stream.lease = services.hub.limiter().TryAcquire(stream.claims.user, stream.stream);
  if (!stream.lease) {
    services.hub.metrics().ConnectionRejectedByCap(stream.stream);
    return TooManyConnections();
  }
  return stream;
}

asio::awaitable<Result<StreamRequest>> AdmitAcrossCluster(StreamRequest stream,
                                                          Services* services) {
  hub::ClusterPresence* cluster = services->hub.cluster();
  if (cluster == nullptr) co_return stream;
  // Captures pointers only: GCC 12 miscompiles coroutine parameters (here Offload's `fn`) that
  // own memory, so the request stays in this frame and the work reads it from there.
  const StreamRequest* request = &stream;
  auto slot = co_await Offload(services->hub.store_pool(), [cluster, request] {
    return cluster->Admit(request->claims.user, request->stream);
  });
  if (!slot) {
    services->hub.metrics().ConnectionRejectedByCap(stream.stream);
    co_return TooManyConnections();
  }
  stream.cluster_slot.emplace(std::move(*slot));
  co_return stream;
}

}  // namespace herald::http
