#include "http/rate_limits.h"

#include <chrono>

namespace herald::http {

hub::RateLimiter& RateLimits::Limiter(hub::RateLimitKind kind) {
  switch (kind) {
    case hub::RateLimitKind::kStreamOpen:
      return stream_opens_;
    case hub::RateLimitKind::kPublish:
      return publishes_;
    case hub::RateLimitKind::kUnauthenticated:
      return unauthenticated_;
    case hub::RateLimitKind::kRead:
      return reads_;
  }
  return unauthenticated_;
}

std::optional<Error> RateLimits::Charge(hub::RateLimitKind kind, std::string_view key) {
  const auto wait = Limiter(kind).Take(key, clock_.Monotonic());
  if (wait == hub::RateLimiter::Duration::zero()) return std::nullopt;
  metrics_.RateLimited(kind);
  return Error{ErrorCode::kRateLimited,
               kind == hub::RateLimitKind::kUnauthenticated
                   ? "Too many requests without a valid token from this address."
                   : "Too many requests for this user; retry later.",
               {},
               std::chrono::ceil<std::chrono::seconds>(wait)};
}

}  // namespace herald::http
