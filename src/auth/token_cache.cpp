#include "auth/token_cache.h"

namespace herald::auth {

TokenCache::TokenCache(std::size_t capacity, std::chrono::seconds leeway)
    : capacity_(capacity), leeway_(leeway) {}

std::optional<Claims> TokenCache::Find(std::string_view token,
                                       std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(token);
  if (found == entries_.end()) return std::nullopt;
  const Entry& entry = found->second;
  if (now >= entry.valid_until) {
    entries_.erase(found);  // expired for good: time only moves on
    return std::nullopt;
  }
  if (now < entry.verified_at) return std::nullopt;  // the clock went back: verify again
  return entry.claims;
}

void TokenCache::Insert(std::string_view token, const Claims& claims,
                        std::chrono::system_clock::time_point now) {
  if (capacity_ == 0 || token.size() > kMaxTokenBytes) return;
  const auto valid_until = claims.expires_at + leeway_;
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(token);
  if (found != entries_.end()) {
    found->second.verified_at = std::min(found->second.verified_at, now);
    return;
  }
  if (entries_.size() >= capacity_) entries_.erase(entries_.begin());
  entries_.emplace(std::string(token), Entry{claims, now, valid_until});
}

std::size_t TokenCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace herald::auth
