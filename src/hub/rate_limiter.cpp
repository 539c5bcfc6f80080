#include "hub/rate_limiter.h"

#include <algorithm>

namespace herald::hub {

std::string_view RateLimitKindName(RateLimitKind kind) {
  switch (kind) {
    case RateLimitKind::kStreamOpen:
      return "stream_open";
    case RateLimitKind::kPublish:
      return "publish";
    case RateLimitKind::kUnauthenticated:
      return "unauthenticated";
    case RateLimitKind::kRead:
      return "read";
  }
  return "unknown";
}

double RateLimiter::Refilled(const Bucket& bucket, TimePoint now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.at).count();
  return std::min(limit_.burst, bucket.tokens + std::max(0.0, elapsed) * limit_.per_second);
}

void RateLimiter::Sweep(Part& part, TimePoint now) const {
  std::erase_if(part.buckets,
                [&](const auto& entry) { return Refilled(entry.second, now) >= limit_.burst; });
  part.sweep_at = std::max(kFirstSweep, 2 * part.buckets.size());
}

RateLimiter::Duration RateLimiter::Take(std::string_view key, TimePoint now) {
  if (!limit_.limited()) return Duration::zero();
  Part& part = parts_[StringHash{}(key) % kParts];
  std::lock_guard lock(part.mutex);
  auto it = part.buckets.find(key);
  if (it == part.buckets.end()) {
    if (part.buckets.size() >= part.sweep_at) Sweep(part, now);
    it = part.buckets.emplace(std::string(key), Bucket{limit_.burst, now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = Refilled(bucket, now);
  bucket.at = std::max(bucket.at, now);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return Duration::zero();
  }
  const std::chrono::duration<double> wait((1 - bucket.tokens) / limit_.per_second);
  return std::max<Duration>(std::chrono::ceil<Duration>(wait), Duration(1));
}

std::size_t RateLimiter::Keys() const {
  std::size_t keys = 0;
  for (const Part& part : parts_) {
    std::lock_guard lock(part.mutex);
    keys += part.buckets.size();
  }
  return keys;
}

}  // namespace herald::hub
