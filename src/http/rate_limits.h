// The rate limits of spec §6: stream opens, publishes and the other API requests ("reads") per
// authenticated user, and requests without a valid token per peer address. Decisions and
// defaults: docs/DECISIONS.md "Limits".
#pragma once

#include <optional>
#include <string_view>

#include "core/clock.h"
#include "core/error.h"
#include "hub/metrics.h"
#include "hub/rate_limiter.h"

namespace herald::http {

struct RateLimitOptions {
  hub::RateLimit stream_opens;     // per user, on the three stream routes
  hub::RateLimit publishes;        // per user, on the publish routes; a batch is one request
  hub::RateLimit unauthenticated;  // per peer address, any charged request without a valid token
  hub::RateLimit reads;  // per user, on the contexts API (every method) and the admin routes
};

// What `herald serve` enforces unless configured otherwise. HttpOptions itself defaults to no
// limits, for embedders and tests that choose their own.
inline constexpr RateLimitOptions kDefaultRateLimits{
    .stream_opens = {.per_second = 10, .burst = 30},
    .publishes = {.per_second = 1000, .burst = 2000},
    .unauthenticated = {.per_second = 20, .burst = 50},
    .reads = {.per_second = 50, .burst = 100},
};

class RateLimits {
 public:
  // Buckets refill by `clock`'s monotonic time; `clock` outlives this.
  RateLimits(const RateLimitOptions& options, hub::Metrics& metrics, const Clock& clock)
      : stream_opens_(options.stream_opens),
        publishes_(options.publishes),
        unauthenticated_(options.unauthenticated),
        reads_(options.reads),
        metrics_(metrics),
        clock_(clock) {}

  // Spends one request of `key` (a user id, or a peer address for kUnauthenticated): nullopt
  // when it may go ahead, else a counted 429 rate_limited with Retry-After.
  std::optional<Error> Charge(hub::RateLimitKind kind, std::string_view key);

 private:
  hub::RateLimiter& Limiter(hub::RateLimitKind kind);

  hub::RateLimiter stream_opens_;
  hub::RateLimiter publishes_;
  hub::RateLimiter unauthenticated_;
  hub::RateLimiter reads_;
  hub::Metrics& metrics_;
  const Clock& clock_;
};

}  // namespace herald::http
