#include "http/router.h"

#include <array>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <vector>

namespace herald::http {

namespace {

using boost::beast::http::verb;

constexpr std::array<verb, 3> kGet = {verb::get, verb::unknown, verb::unknown};
constexpr std::array<verb, 3> kGetHead = {verb::get, verb::head, verb::unknown};
constexpr std::array<verb, 3> kPost = {verb::post, verb::unknown, verb::unknown};

constexpr RouteSpec kRoutes[] = {
    {"/", RouteId::kDashboard, kGetHead},
    {"/health", RouteId::kHealth, kGetHead},
    {"/readyz", RouteId::kReadyz, kGetHead},
    {"/metrics", RouteId::kMetrics, kGetHead},
    {"/api/v1/health", RouteId::kHealth, kGetHead},
    {"/api/v1/metrics/history", RouteId::kMetricsHistory, kGetHead},
    {"/api/v1/openapi.json", RouteId::kOpenApi, kGetHead},
    {"/api/v1/stream/agui", RouteId::kStreamAgui, kGet},
    {"/api/v1/stream/a2a", RouteId::kStreamA2a, kGet},
    {"/api/v1/stream/contexts", RouteId::kStreamContexts, kGet},
    {"/api/v1/webhook/agui", RouteId::kWebhookAgui, kPost},
    {"/api/v1/webhook/a2a", RouteId::kWebhookA2a, kPost},
    {"/api/v1/webhook/broadcast", RouteId::kWebhookBroadcast, kPost},
    {"/api/v1/events", RouteId::kEventsBatch, kPost},
    {"/api/v1/core/contexts", RouteId::kContexts, {verb::get, verb::post, verb::unknown}},
    {"/api/v1/core/contexts/{id}", RouteId::kContext, {verb::get, verb::put, verb::delete_}},
    {"/api/v1/core/contexts/{id}/events", RouteId::kContextEvents, kPost},
    {"/api/v1/admin/users/{id}/connections",
     RouteId::kAdminUserConnections,
     {verb::get, verb::delete_, verb::unknown}},
};

constexpr std::string_view kIdSegment = "{id}";

// Whether the decoded path `segments` match `path_template`; the {id} segment goes to `path_id`.
bool Matches(std::string_view path_template, const std::vector<std::string>& segments,
             std::string& path_id) {
  std::string_view rest = path_template.substr(1);  // after the leading '/'; "" for "/"
  std::size_t i = 0;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view expected = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (i == segments.size()) return false;
    if (expected == kIdSegment) {
      path_id = segments[i];
    } else if (segments[i] != expected) {
      return false;
    }
    ++i;
  }
  return i == segments.size();
}

// The Allow header of a route: its methods, comma-separated.
std::string AllowHeader(const RouteSpec& spec) {
  std::string allow;
  for (verb v : spec.methods) {
    if (v == verb::unknown) continue;
    if (!allow.empty()) allow += ", ";
    const auto name = boost::beast::http::to_string(v);
    allow.append(name.data(), name.size());
  }
  return allow;
}

}  // namespace

std::span<const RouteSpec> RouteTable() { return kRoutes; }

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
  for (auto segment : url.segments()) segments.emplace_back(segment);
  // "/" has one empty segment in some parsers; normalise to none.
  if (segments.size() == 1 && segments[0].empty()) segments.clear();

  for (const RouteSpec& spec : kRoutes) {
    std::string path_id;
    if (!Matches(spec.path, segments, path_id)) continue;
    bool allowed = false;
    for (verb v : spec.methods) allowed = allowed || (v == method && v != verb::unknown);
    if (!allowed) return MethodNotAllowed{AllowHeader(spec)};
    return RouteMatch{spec.route, std::move(path_id),
                      url.has_query() ? std::string(url.encoded_query()) : std::string()};
  }
  return NotFound{};
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
