#include "http/metrics_handler.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "http/authenticate.h"

namespace herald::http {

namespace beast_http = boost::beast::http;

namespace {

// The metrics show every user's activity in aggregate and the limits being hit: with
// metrics_require_token, only a token with the `metrics` scope (a scraper's) or `admin` (the
// dashboard's) reads them. Not charged to a rate limit, like the other operations routes: a
// scrape refused with 429 would leave a gap in the operator's graphs.
std::optional<Error> RefuseMetrics(const Request& request, const RouteMatch& match,
                                   Requester& requester, Services* services) {
  if (!services->options.metrics_require_token) return std::nullopt;
  auto caller = Authenticate(request, match.query, services->verifier,
                             services->options.allow_query_token, services->Now());
  if (!caller) return caller.error();
  const auto& claims = *caller;
  requester.user = claims.user;
  if (claims.HasScope("metrics") || claims.HasScope("admin")) return std::nullopt;
  return Error{ErrorCode::kForbidden, "The metrics or admin scope is required.", {}, {}};
}

// `value` rounded to `decimals` places, in the shortest text that reads back as it.
std::string Number(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return fmt::format("{}", std::round(value * scale) / scale);
}

std::string OptionalNumber(const std::optional<double>& value, int decimals) {
  return value ? Number(*value, decimals) : "null";
}

}  // namespace

Response HandleMetrics(const Request& request, const RouteMatch& match, Requester& requester,
                       Services* services) {
  if (auto refused = RefuseMetrics(request, match, requester, services)) {
    return ErrorResponse(request, *refused, services->Now());
  }
  Response response{beast_http::status::ok, request.version()};
  response.set(beast_http::field::content_type, "text/plain; version=0.0.4");
  response.set(beast_http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.body() = services->hub.metrics().RenderPrometheus();
  response.prepare_payload();
  return response;
}

Response HandleMetricsHistory(const Request& request, const RouteMatch& match, Requester& requester,
                              Services* services) {
  const auto now = services->Now();
  if (auto refused = RefuseMetrics(request, match, requester, services)) {
    return ErrorResponse(request, *refused, now);
  }
  std::chrono::system_clock::time_point after{};
  if (const auto since = QueryParam(match.query, "since")) {
    std::int64_t ms = -1;
    const auto [end, ec] = std::from_chars(since->data(), since->data() + since->size(), ms);
    if (ec != std::errc() || end != since->data() + since->size() || ms < 0) {
      return ErrorResponse(
          request, {ErrorCode::kBadRequest, "since must be a time in Unix milliseconds.", {}, {}},
          now);
    }
    // Samples whose time in whole milliseconds (as the body gives it) is after `since`; past
    // the clock's range (its nanoseconds end in year 2262) nothing is, and they would overflow.
    constexpr std::int64_t kLatest = std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::duration::max())
                                         .count() -
                                     1;
    after += std::chrono::milliseconds(std::min(ms, kLatest) + 1) -
             std::chrono::system_clock::duration(1);
  }
  const hub::Hub& hub = services->hub;
  return JsonResponse(
      request, beast_http::status::ok,
      MetricsHistoryJson(hub.metrics_history().Since(after), hub.options().metrics_sample_interval,
                         hub.metrics_history().capacity()));
}

std::string MetricsHistoryJson(const std::vector<hub::MetricsSample>& samples,
                               std::chrono::milliseconds interval, std::size_t capacity) {
  std::string out = fmt::format(R"({{"data":{{"interval_ms":{},"capacity":{},"samples":[)",
                                interval.count(), capacity);
  bool first = true;
  for (const hub::MetricsSample& s : samples) {
    if (!first) out += ',';
    first = false;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(s.time.time_since_epoch()).count();
    fmt::format_to(std::back_inserter(out),
                   R"({{"time":{},"events_per_second":{},"deliveries_per_second":{},)"
                   R"("open_streams":{{"agui":{},"a2a":{},"contexts":{}}},)",
                   ms, Number(s.events_per_second, 3), Number(s.deliveries_per_second, 3),
                   s.open_streams[static_cast<int>(Stream::kAgui)],
                   s.open_streams[static_cast<int>(Stream::kA2a)],
                   s.open_streams[static_cast<int>(Stream::kContexts)]);
    if (s.latency_p50_seconds || s.latency_p99_seconds) {
      fmt::format_to(
          std::back_inserter(out), R"("publish_latency_seconds":{{"p50":{},"p99":{}}}}})",
          OptionalNumber(s.latency_p50_seconds, 6), OptionalNumber(s.latency_p99_seconds, 6));
    } else {
      out += R"("publish_latency_seconds":null})";
    }
  }
  out += "]}}";
  return out;
}

}  // namespace herald::http
