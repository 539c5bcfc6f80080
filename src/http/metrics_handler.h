// GET /metrics (spec §1.4, §7: Prometheus text) and GET /api/v1/metrics/history (issue 17: the
// last minutes of samples the dashboard charts), both behind the metrics access rule:
// with HttpOptions::metrics_require_token, a token with the `metrics` or `admin` scope.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "http/requester.h"
#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"
#include "hub/metrics_history.h"

namespace herald::http {

Response HandleMetrics(const Request& request, const RouteMatch& match, Requester& requester,
                       Services* services);

// `?since=<Unix ms>` keeps the samples after that time (a poller asks for what is new).
Response HandleMetricsHistory(const Request& request, const RouteMatch& match, Requester& requester,
                              Services* services);

// The history route's body: {"data":{"interval_ms","capacity","samples":[{"time" (Unix ms),
// "events_per_second","deliveries_per_second","open_streams":{"agui","a2a","contexts"},
// "publish_latency_seconds":{"p50","p99"} or null}]}}. Pure.
std::string MetricsHistoryJson(const std::vector<hub::MetricsSample>& samples,
                               std::chrono::milliseconds interval, std::size_t capacity);

}  // namespace herald::http
