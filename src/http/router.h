// Maps a request's method and target to a route (spec §1). Pure: no sockets.
#pragma once

#include <array>
#include <boost/beast/http/verb.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/event.h"

namespace herald::http {

enum class RouteId {
  kStreamAgui,
  kStreamA2a,
  kStreamContexts,
  kWebhookAgui,
  kWebhookA2a,
  kWebhookBroadcast,  // the original system's /api/v1/webhook/broadcast (docs/MIGRATING.md)
  kEventsBatch,
  kContexts,       // /api/v1/core/contexts
  kContext,        // /api/v1/core/contexts/{id}
  kContextEvents,  // /api/v1/core/contexts/{id}/events
  kHealth,
  kReadyz,
  kMetrics,
  kMetricsHistory,  // /api/v1/metrics/history: the dashboard's charts
  kDashboard,
  kAdminUserConnections,  // /api/v1/admin/users/{id}/connections
  kOpenApi,               // /api/v1/openapi.json: the API description (docs/openapi.json)
};

// One entry of the route table Route() matches against: a path template whose "{id}" segment
// matches any one segment, and the methods it answers (unused slots are verb::unknown). The
// table is also what docs/openapi.json must describe, no more and no less (tests/http).
struct RouteSpec {
  std::string_view path;
  RouteId route;
  std::array<boost::beast::http::verb, 3> methods;
};

// Every route, in matching order.
std::span<const RouteSpec> RouteTable();

// The percent-decoded value of the first `name` parameter of a raw query string.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);

struct RouteMatch {
  RouteId route;
  std::string path_id;  // the percent-decoded {id} segment, when the route has one
  std::string query;    // the raw query string, without '?'
};
struct Redirect {
  std::string location;  // 308: the same path without its trailing slash, query kept
};
struct NotFound {};
struct MethodNotAllowed {
  std::string allow;  // value of the Allow header
};
struct BadTarget {};  // unparsable request target

using RouteResult = std::variant<RouteMatch, Redirect, NotFound, MethodNotAllowed, BadTarget>;

RouteResult Route(boost::beast::http::verb method, std::string_view target);

// The stream a stream route opens.
Stream StreamOf(RouteId route);
bool IsStreamRoute(RouteId route);

}  // namespace herald::http
