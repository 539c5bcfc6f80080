// Per-user, per-stream connection caps (spec §6), shared by every shard of this process.
//
// Thread rule: thread-safe. The mutex guards a small map and is never held across I/O.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/ids.h"

namespace herald::hub {

class ConnectionLimiter {
 public:
  // A held slot; releases it when destroyed. Movable, not copyable.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    explicit operator bool() const { return limiter_ != nullptr; }

   private:
    friend class ConnectionLimiter;
    Lease(ConnectionLimiter* limiter, UserId user, Stream stream)
        : limiter_(limiter), user_(std::move(user)), stream_(stream) {}
    void Release();

    ConnectionLimiter* limiter_ = nullptr;
    UserId user_;
    Stream stream_ = Stream::kAgui;
  };

  explicit ConnectionLimiter(std::size_t max_per_user_per_stream) : max_(max_per_user_per_stream) {}

  // An empty Lease when the user already holds the maximum on that stream.
  Lease TryAcquire(const UserId& user, Stream stream);

  std::size_t Count(const UserId& user, Stream stream) const;
  // Every non-zero count, by user and stream.
  std::vector<std::tuple<UserId, Stream, std::size_t>> Snapshot() const;

 private:
  void Release(const UserId& user, Stream stream);

  const std::size_t max_;
  mutable std::mutex mutex_;
  std::unordered_map<UserId, std::array<std::size_t, kStreamCount>> counts_;
};

}  // namespace herald::hub
