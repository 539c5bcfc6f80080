#include "http/handlers.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "http/authenticate.h"
#include "http/batch_handler.h"
#include "http/contexts_events_handler.h"
#include "http/contexts_handler.h"
#include "http/dashboard.h"
#include "http/metrics_handler.h"
#include "http/offload.h"
#include "http/openapi_document.h"
#include "http/publish_handler.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

Response TextResponse(const Request& request, beast_http::status status, std::string_view type,
                      std::string body) {
  Response response{status, request.version()};
  response.set(beast_http::field::content_type, type);
  response.set(beast_http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

asio::awaitable<Response> HandleHealth(const Request& request, Services* services) {
  hub::Hub* hub = &services->hub;
  const bool probe = co_await Offload(hub->store_pool(), [hub] { return hub->StoreAnswers(); });
  if (!probe) {
    co_return JsonResponse(request, beast_http::status::service_unavailable,
                           R"({"status":"unhealthy"})");
  }
  // Spec §1.4: degraded while a dependency (the cluster relay) is down.
  if (const hub::Relay* relay = services->hub.relay(); relay != nullptr && !relay->connected()) {
    co_return JsonResponse(request, beast_http::status::ok,
                           R"({"status":"degraded","relay":"disconnected"})");
  }
  co_return JsonResponse(request, beast_http::status::ok, R"({"status":"healthy"})");
}

Response HandleReadyz(const Request& request, Services* services) {
  // A cluster node whose relay is down would serve streams that miss other nodes' events.
  const hub::Relay* relay = services->hub.relay();
  const bool ready = services->ready.load() && !services->draining.load() &&
                     (relay == nullptr || relay->connected());
  return ready ? JsonResponse(request, beast_http::status::ok, R"({"status":"ready"})")
               : JsonResponse(request, beast_http::status::service_unavailable,
                              R"({"status":"not_ready"})");
}

// GET: the user's live connections on this node; DELETE: end them (admin scope).
Response HandleAdminConnections(const Request& request, const RouteMatch& match,
                                Requester& requester, Services* services) {
  const auto now = services->Now();
  auto caller =
      AuthenticateAndCharge(request, match.query, *services, hub::RateLimitKind::kRead, requester);
  if (!caller) return ErrorResponse(request, caller.error(), now);
  if (!caller->HasScope("admin")) {
    return ErrorResponse(request, {ErrorCode::kForbidden, "The admin scope is required.", {}, {}},
                         now);
  }
  if (!IsValidClientId(match.path_id)) {
    return ErrorResponse(request, {ErrorCode::kBadRequest, "Malformed user id.", {}, {}}, now);
  }
  const UserId user(match.path_id);
  hub::ConnectionLimiter& limiter = services->hub.limiter();
  boost::json::object connections;
  std::size_t total = 0;
  for (Stream stream : {Stream::kAgui, Stream::kA2a, Stream::kContexts}) {
    const std::size_t count = limiter.Count(user, stream);
    connections[StreamName(stream)] = count;
    total += count;
  }
  boost::json::object data;
  data["user_id"] = user.str();
  if (request.method() == beast_http::verb::delete_) {
    services->hub.DisconnectUser(user, hub::DisconnectReason::kAdmin);
    data["disconnected"] = total;
  } else {
    data["connections"] = std::move(connections);
  }
  boost::json::object body;
  body["data"] = std::move(data);
  return JsonResponse(request, beast_http::status::ok, boost::json::serialize(body));
}

// The routes answered without waiting, in one coroutine of their own: its frame holds a response
// per route, too large for the frame allocator's recycling, and should not be paid by a publish.
asio::awaitable<Response> AnswerAtOnce(const Request& request, const RouteMatch& match,
                                       Requester* requester, Services* services) {
  switch (match.route) {
    case RouteId::kReadyz:
      co_return HandleReadyz(request, services);
    case RouteId::kMetrics:
      co_return HandleMetrics(request, match, *requester, services);
    case RouteId::kMetricsHistory:
      co_return HandleMetricsHistory(request, match, *requester, services);
    case RouteId::kDashboard: {
      // The policy is derived from the page (hashing ~30 KB per load of a rarely loaded page).
      Response page = TextResponse(request, beast_http::status::ok, "text/html; charset=utf-8",
                                   services->dashboard_html);
      page.set("Content-Security-Policy", DashboardPolicy(services->dashboard_html));
      page.set("X-Frame-Options", "DENY");
      page.set("X-Content-Type-Options", "nosniff");
      page.set("Referrer-Policy", "no-referrer");
      co_return page;
    }
    case RouteId::kAdminUserConnections:
      co_return HandleAdminConnections(request, match, *requester, services);
    case RouteId::kOpenApi: {
      // Public and the same for every caller until the binary changes (docs/DECISIONS.md "Wire").
      Response document = TextResponse(request, beast_http::status::ok, "application/json",
                                       std::string(kOpenApiDocument));
      document.set(beast_http::field::cache_control, "public, max-age=3600");
      co_return document;
    }
    default:
      co_return ErrorResponse(request, {ErrorCode::kNotFound, "Not found.", {}, {}},
                              services->Now());
  }
}

}  // namespace

// Not a coroutine: hands back the handler's own awaitable, so that a request costs no frame of
// its own here (the caller awaits it at once, while its arguments live).
asio::awaitable<Response> HandleRequest(const Request& request, const RouteMatch& match,
                                        Requester* requester, Services* services) {
  switch (match.route) {
    case RouteId::kWebhookAgui:
    case RouteId::kWebhookA2a:
    case RouteId::kWebhookBroadcast:
      return HandleWebhook(request, match, requester, services);
    case RouteId::kEventsBatch:
      return HandleBatch(request, match, requester, services);
    case RouteId::kContexts:
      return HandleContexts(request, match, requester, services);
    case RouteId::kContext:
      return HandleContext(request, match, requester, services);
    case RouteId::kContextEvents:
      return HandleContextEvents(request, match, requester, services);
    case RouteId::kHealth:
      return HandleHealth(request, services);
    default:
      return AnswerAtOnce(request, match, requester, services);
  }
}

}  // namespace herald::http
