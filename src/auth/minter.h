// Minting HS256 tokens, for `herald token` and development mode (spec §2, §9).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace herald::auth {

// Returns a compact HS256 JWT with header {"alg":"HS256","typ":"JWT"} and claims sub, iat = now,
// exp = now + ttl (whole seconds) and, when non-empty, scope. Throws std::invalid_argument with
// a one-line reason when `secret` is empty, `sub` is not a valid client id, `scope` holds a
// control character, or `ttl` is not positive. Thread-safe.
std::string MintHs256(std::string_view secret, std::string_view sub, std::string_view scope,
                      std::chrono::seconds ttl, std::chrono::system_clock::time_point now);

}  // namespace herald::auth
