#include "hub/connection_limiter.h"

#include <cassert>

namespace herald::hub {

ConnectionLimiter::Lease::Lease(Lease&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      user_(std::move(other.user_)),
      stream_(other.stream_) {}

ConnectionLimiter::Lease& ConnectionLimiter::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    user_ = std::move(other.user_);
    stream_ = other.stream_;
  }
  return *this;
}

ConnectionLimiter::Lease::~Lease() { Release(); }

void ConnectionLimiter::Lease::Release() {
  if (limiter_ != nullptr) {
    std::exchange(limiter_, nullptr)->Release(user_, stream_);
  }
}

ConnectionLimiter::Lease ConnectionLimiter::TryAcquire(const UserId& user, Stream stream) {
  std::lock_guard lock(mutex_);
  auto& count = counts_[user][static_cast<int>(stream)];
  if (count >= max_) return Lease{};
  ++count;
  return Lease{this, user, stream};
}

std::size_t ConnectionLimiter::Count(const UserId& user, Stream stream) const {
  std::lock_guard lock(mutex_);
  const auto it = counts_.find(user);
  return it == counts_.end() ? 0 : it->second[static_cast<int>(stream)];
}

std::vector<std::tuple<UserId, Stream, std::size_t>> ConnectionLimiter::Snapshot() const {
  std::vector<std::tuple<UserId, Stream, std::size_t>> counts;
  std::lock_guard lock(mutex_);
  for (const auto& [user, per_stream] : counts_) {
    for (Stream stream : {Stream::kAgui, Stream::kA2a, Stream::kContexts}) {
      const std::size_t count = per_stream[static_cast<int>(stream)];
      if (count > 0) counts.emplace_back(user, stream, count);
    }
  }
  return counts;
}

void ConnectionLimiter::Release(const UserId& user, Stream stream) {
  std::lock_guard lock(mutex_);
  const auto it = counts_.find(user);
  assert(it != counts_.end() && it->second[static_cast<int>(stream)] > 0);
  --it->second[static_cast<int>(stream)];
  for (std::size_t c : it->second) {
    if (c != 0) return;
  }
  counts_.erase(it);
}

}  // namespace herald::hub
