#include "http/router.h"

#include <array>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <initializer_list>

namespace herald::http {

namespace {

using boost::beast::http::verb;

struct Methods {
  std::array<verb, 3> allowed;  // unused slots are verb::unknown
  std::string_view allow_header;
};

Methods AllowedMethods(RouteId route) {
  switch (route) {
    case RouteId::kStreamAgui:
    case RouteId::kStreamA2a:
    case RouteId::kStreamContexts:
      return {{verb::get, verb::unknown, verb::unknown}, "GET"};
    case RouteId::kHealth:
    case RouteId::kReadyz:
    case RouteId::kMetrics:
    case RouteId::kMetricsHistory:
    case RouteId::kDashboard:
      return {{verb::get, verb::head, verb::unknown}, "GET, HEAD"};
    case RouteId::kWebhookAgui:
    case RouteId::kWebhookA2a:
    case RouteId::kWebhookBroadcast:
    case RouteId::kEventsBatch:
    case RouteId::kContextEvents:
      return {{verb::post, verb::unknown, verb::unknown}, "POST"};
    case RouteId::kContexts:
      return {{verb::get, verb::post, verb::unknown}, "GET, POST"};
    case RouteId::kContext:
      return {{verb::get, verb::put, verb::delete_}, "GET, PUT, DELETE"};
    case RouteId::kAdminUserConnections:
      return {{verb::get, verb::delete_, verb::unknown}, "GET, DELETE"};
  }
  return {{verb::unknown, verb::unknown, verb::unknown}, ""};
}

struct Match {
  bool found = false;
  RouteId route = RouteId::kHealth;
  std::string path_id;
};

// Matches decoded path segments against the route table.
Match MatchSegments(const std::vector<std::string>& s) {
  const auto is = [&s](std::initializer_list<std::string_view> expected) {
    if (s.size() != expected.size()) return false;
    std::size_t i = 0;
    for (std::string_view e : expected) {
      if (e != "*" && s[i] != e) return false;
      ++i;
    }
    return true;
  };
  if (s.empty()) return {true, RouteId::kDashboard, {}};
  if (is({"health"})) return {true, RouteId::kHealth, {}};
  if (is({"readyz"})) return {true, RouteId::kReadyz, {}};
  if (is({"metrics"})) return {true, RouteId::kMetrics, {}};
  if (is({"api", "v1", "health"})) return {true, RouteId::kHealth, {}};
  if (is({"api", "v1", "metrics", "history"})) return {true, RouteId::kMetricsHistory, {}};
  if (is({"api", "v1", "stream", "agui"})) return {true, RouteId::kStreamAgui, {}};
  if (is({"api", "v1", "stream", "a2a"})) return {true, RouteId::kStreamA2a, {}};
  if (is({"api", "v1", "stream", "contexts"})) return {true, RouteId::kStreamContexts, {}};
  if (is({"api", "v1", "webhook", "agui"})) return {true, RouteId::kWebhookAgui, {}};
  if (is({"api", "v1", "webhook", "a2a"})) return {true, RouteId::kWebhookA2a, {}};
  if (is({"api", "v1", "webhook", "broadcast"})) return {true, RouteId::kWebhookBroadcast, {}};
  if (is({"api", "v1", "events"})) return {true, RouteId::kEventsBatch, {}};
  if (is({"api", "v1", "core", "contexts"})) return {true, RouteId::kContexts, {}};
  if (is({"api", "v1", "core", "contexts", "*"})) return {true, RouteId::kContext, s[4]};
  if (is({"api", "v1", "core", "contexts", "*", "events"})) {
    return {true, RouteId::kContextEvents, s[4]};
  }
  if (is({"api", "v1", "admin", "users", "*", "connections"})) {
    return {true, RouteId::kAdminUserConnections, s[4]};
  }
  return {};
}

}  // namespace

RouteResult Route(verb method, std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return BadTarget{};
  const boost::urls::url_view& url = *parsed;
  const std::string_view path = url.encoded_path();

  // A trailing slash on an /api/ path answers 308 to the path without it, query kept.
  if (path.size() > 1 && path.back() == '/' && path.starts_with("/api/")) {
    std::string location(path.substr(0, path.size() - 1));
    while (location.size() > 1 && location.back() == '/') location.pop_back();
    if (url.has_query()) location.append("?").append(url.encoded_query());
    return Redirect{std::move(location)};
  }

  std::vector<std::string> segments;
  for (auto segment : url.segments()) segments.push_back(std::string(segment));
  // "/" has one empty segment in some parsers; normalise to none.
  if (segments.size() == 1 && segments[0].empty()) segments.clear();

  Match match = MatchSegments(segments);
  if (!match.found) return NotFound{};
  const Methods methods = AllowedMethods(match.route);
  bool allowed = false;
  for (verb v : methods.allowed) allowed = allowed || (v == method && v != verb::unknown);
  if (!allowed) return MethodNotAllowed{std::string(methods.allow_header)};
  return RouteMatch{match.route, std::move(match.path_id),
                    url.has_query() ? std::string(url.encoded_query()) : std::string()};
}

Stream StreamOf(RouteId route) {
  switch (route) {
    case RouteId::kStreamAgui:
      return Stream::kAgui;
    case RouteId::kStreamA2a:
      return Stream::kA2a;
    default:
      return Stream::kContexts;
  }
}

bool IsStreamRoute(RouteId route) {
  return route == RouteId::kStreamAgui || route == RouteId::kStreamA2a ||
         route == RouteId::kStreamContexts;
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  if (query.empty()) return std::nullopt;
  auto params = boost::urls::parse_query(query);
  if (!params) return std::nullopt;
  for (auto param : *params) {
    if (param.key == name && param.has_value) return std::string(param.value.decode());
  }
  return std::nullopt;
}

}  // namespace herald::http
