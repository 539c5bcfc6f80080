// Tokens already verified, so that a caller sending the same bearer token on every request pays
// for its signature once (issue 15). Keyed by the token's exact bytes; an entry answers only
// where a fresh verification would give the same answer (see Find). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/claims.h"

namespace herald::auth {

class TokenCache {
 public:
  // Tokens longer than this are verified every time (they would crowd the cache).
  static constexpr std::size_t kMaxTokenBytes = 2048;

  // Holds at most `capacity` tokens (0: caches nothing). `leeway` is the verifier's.
  TokenCache(std::size_t capacity, std::chrono::seconds leeway);

  // The claims `token` verified to at some time `t` <= `now`, when `now` is still before the
  // token's "exp" plus the leeway. Every other check of a verification either does not depend on
  // the time or (nbf) holds at every time after one at which it held, so the answer is the one
  // verifying again at `now` would give.
  std::optional<Claims> Find(std::string_view token, std::chrono::system_clock::time_point now);

  // Records that `token` verified to `claims` at `now`. When full, an arbitrary entry leaves.
  void Insert(std::string_view token, const Claims& claims,
              std::chrono::system_clock::time_point now);

  std::size_t size() const;

 private:
  struct Entry {
    Claims claims;
    std::chrono::system_clock::time_point verified_at;  // the earliest time it verified
    std::chrono::system_clock::time_point valid_until;  // exp plus the leeway
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
      return std::hash<std::string_view>{}(text);
    }
  };

  const std::size_t capacity_;
  const std::chrono::seconds leeway_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

}  // namespace herald::auth
