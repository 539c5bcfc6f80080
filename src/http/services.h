// What the HTTP layer is given by the composition root: the hub, the token verifier and the
// HTTP options. Handlers reach everything through this; nothing is global.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "auth/verifier.h"
#include "core/event_validation.h"
#include "http/rate_limits.h"
#include "hub/byte_budget.h"
#include "hub/hub.h"

namespace spdlog {
class logger;
}

namespace herald::http {

enum class HeartbeatStyle { kEvent, kComment };

struct HttpOptions {
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  bool allow_query_token = false;
  // /metrics and /api/v1/metrics/history answer only a token with the `metrics` or `admin`
  // scope (`herald serve --metrics-auth token`, the default outside --dev); false: anyone.
  bool metrics_require_token = true;
  std::chrono::milliseconds heartbeat_interval{15'000};
  HeartbeatStyle heartbeat_style = HeartbeatStyle::kEvent;
  std::chrono::milliseconds client_retry{2'000};  // the SSE `retry:` sent on open
  std::chrono::seconds auth_expiring_lead{30};    // `auth_expiring` this long before exp
  std::chrono::milliseconds drain_window{5'000};  // reconnects spread over this window
  // An evicted slow consumer's whole frames stay in the kernel this long for it to read (then
  // the end of the stream); a peer that has not read them by then gets an abortive close.
  std::chrono::milliseconds eviction_grace{5'000};
  std::chrono::seconds request_timeout{30};     // reading one request
  std::chrono::seconds publish_retry_after{1};  // Retry-After on back-pressure 503
  // Writing one non-stream response: past it the connection is closed (abortively).
  std::chrono::milliseconds response_write_timeout{30'000};
  // Body bytes of non-stream responses being written at once, by everyone and by one user (or
  // client address without a token); 0: no limit (hub/byte_budget.h, docs/DECISIONS.md "Limits").
  std::size_t response_bytes_budget = 64 * 1024 * 1024;
  std::size_t response_bytes_per_user = 8 * 1024 * 1024;
  std::size_t replay_page_events = 1'000;
  // The newest contexts a CONTEXTS_SNAPSHOT lists (it says how many there are in all); 0: all.
  std::size_t snapshot_max_contexts = 1'000;
  RateLimitOptions rate_limits;           // none unless set (`herald serve`: kDefaultRateLimits)
  std::vector<std::string> cors_origins;  // origins allowed cross-origin; "*": any (http/cors.h)
  ValidationMode validation = ValidationMode::kCompatible;  // core/event_validation.h
  bool compat_frames = true;  // send the `connected` and `auth_expiring` named frames
  // Where each answered request is logged (http/access_log.h), as JSON members or as text;
  // nullptr: nowhere.
  std::shared_ptr<spdlog::logger> access_log;
  bool access_log_json = false;
};

struct Services {
  hub::Hub& hub;
  const auth::Verifier& verifier;
  HttpOptions options;
  // Accepting traffic (not starting, not draining): /readyz.
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};
  // The dashboard page served at "/".
  std::string dashboard_html;
  RateLimits rate_limits{options.rate_limits, hub.metrics(), hub.clock()};
  hub::ByteBudget response_budget{
      {.total = options.response_bytes_budget, .per_key = options.response_bytes_per_user},
      &hub.metrics().ResponseBytesInFlight()};

  std::chrono::system_clock::time_point Now() const { return hub.Now(); }
};

}  // namespace herald::http
