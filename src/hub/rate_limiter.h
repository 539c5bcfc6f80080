// Request rates per key (spec §6 "Rate limits"): a token bucket per user or per peer address.
// A key starts with `burst` tokens, gains `per_second` tokens a second up to `burst`, and each
// request spends one; a request that finds less than one token is refused and told how long
// until one is there.
//
// Thread rule: thread-safe. Keys are spread over independent parts, each with its own mutex
// held only for one map lookup, so callers on different shards rarely contend. Memory stays
// bounded by the keys active within the last burst/per_second seconds: a part forgets the keys
// whose buckets have refilled whenever it has doubled since its last sweep.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace herald::hub {

// What a budget is spent on; also the label of herald_rate_limited_total. kRead: the other
// authenticated API requests (the contexts API, admin), whatever their method.
enum class RateLimitKind : std::uint8_t { kStreamOpen, kPublish, kUnauthenticated, kRead };
inline constexpr int kRateLimitKindCount = 4;
std::string_view RateLimitKindName(RateLimitKind kind);

struct RateLimit {
  double per_second = 0;  // 0: no limit
  double burst = 0;       // requests a quiet key may make at once; >= 1 when limited
  bool limited() const { return per_second > 0; }
};

class RateLimiter {
 public:
  // Monotonic time, read by the caller from the injected herald::Clock (core/clock.h).
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  explicit RateLimiter(RateLimit limit) : limit_(limit) {}
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;
  RateLimiter(RateLimiter&&) = delete;
  RateLimiter& operator=(RateLimiter&&) = delete;
  ~RateLimiter() = default;

  // Spends one token of `key`: zero when the request may go ahead, otherwise (nothing spent)
  // the time until the key has a token again.
  Duration Take(std::string_view key, TimePoint now);

  // Keys currently remembered (refilled ones are forgotten at the next sweep).
  std::size_t Keys() const;

 private:
  struct Bucket {
    double tokens;
    TimePoint at;  // when `tokens` was computed
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static constexpr std::size_t kParts = 16;
  static constexpr std::size_t kFirstSweep = 1024;
  struct Part {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket, StringHash, std::equal_to<>> buckets;
    std::size_t sweep_at = kFirstSweep;
  };

  double Refilled(const Bucket& bucket, TimePoint now) const;
  void Sweep(Part& part, TimePoint now) const;

  const RateLimit limit_;
  std::array<Part, kParts> parts_;
};

}  // namespace herald::hub
