#include "http/rate_limits.h"

#include <chrono>

namespace herald::http {

std::optional<ApiError> RateLimits::Charge(hub::RateLimitKind kind, std::string_view key) {
  hub::RateLimiter& limiter = kind == hub::RateLimitKind::kStreamOpen ? stream_opens_
                              : kind == hub::RateLimitKind::kPublish  ? publishes_
                                                                      : unauthenticated_;
  const auto wait = limiter.Take(key, hub::RateLimiter::Clock::now());
  if (wait == hub::RateLimiter::Clock::duration::zero()) return std::nullopt;
  metrics_.RateLimited(kind);
  return ApiError{ErrorCode::kRateLimited,
                  kind == hub::RateLimitKind::kUnauthenticated
                      ? "Too many requests without a valid token from this address."
                      : "Too many requests for this user; retry later.",
                  {},
                  std::chrono::ceil<std::chrono::seconds>(wait)};
}

}  // namespace herald::http
