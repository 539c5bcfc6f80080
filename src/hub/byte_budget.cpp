#include "hub/byte_budget.h"

#include <cassert>
#include <utility>

namespace herald::hub {

ByteBudget::Lease::Lease(Lease&& other) noexcept
    : state_(std::move(other.state_)),
      key_(std::move(other.key_)),
      bytes_(std::exchange(other.bytes_, 0)) {}

ByteBudget::Lease& ByteBudget::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    state_ = std::move(other.state_);
    key_ = std::move(other.key_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

ByteBudget::Lease::~Lease() { Release(); }

void ByteBudget::Lease::Release() {
  if (state_ != nullptr) {
    std::exchange(state_, nullptr)->Release(key_, std::exchange(bytes_, 0));
  }
}

void ByteBudget::State::Release(const std::string& key, std::size_t bytes) {
  std::lock_guard lock(mutex);
  const auto it = by_key.find(key);
  assert(it != by_key.end() && it->second >= bytes && held >= bytes);
  held -= bytes;
  if ((it->second -= bytes) == 0) by_key.erase(it);
  if (gauge != nullptr)
    gauge->fetch_sub(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
}

ByteBudget::ByteBudget(Limits limits, std::atomic<std::int64_t>* gauge)
    : state_(std::make_shared<State>()) {
  state_->limits = limits;
  state_->gauge = gauge;
}

std::variant<ByteBudget::Lease, ByteBudget::Refusal> ByteBudget::TryAcquire(std::string_view key,
                                                                            std::size_t bytes) {
  if (bytes == 0) return Lease{};
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  auto it = s.by_key.find(key);
  const std::size_t key_held = it == s.by_key.end() ? 0 : it->second;
  if (s.limits.per_key > 0 && key_held > 0 && key_held + bytes > s.limits.per_key) {
    return Refusal::kPerKey;
  }
  if (s.limits.total > 0 && s.held > 0 && s.held + bytes > s.limits.total) return Refusal::kTotal;
  if (it == s.by_key.end()) it = s.by_key.emplace(std::string(key), 0).first;
  it->second += bytes;
  s.held += bytes;
  if (s.gauge != nullptr)
    s.gauge->fetch_add(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
  return Lease{state_, it->first, bytes};
}

std::size_t ByteBudget::Held() const {
  std::lock_guard lock(state_->mutex);
  return state_->held;
}

std::size_t ByteBudget::Held(std::string_view key) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->by_key.find(key);
  return it == state_->by_key.end() ? 0 : it->second;
}

std::size_t ByteBudget::Keys() const {
  std::lock_guard lock(state_->mutex);
  return state_->by_key.size();
}

}  // namespace herald::hub
