// JWT verification (spec §2): the one place a bearer token becomes a set of Claims.
//
// Order of checks, first failure wins:
//   structure (size, three base64url segments, JSON objects)       -> kMalformed
//   header "alg" == the configured algorithm, exactly              -> kWrongAlgorithm
//   header: no "crit", "typ" absent or "JWT", "kid" a string        -> kMalformed
//   key for "kid" (RS256/ES256)                                     -> kUnknownKey
//   signature (libjwt, with the configured key)                     -> kBadSignature
//   claims: exp, nbf, iss, aud, sub, scope (see claims.h)           -> the matching error
// Each refusal is Refusal(<that VerifyError>) (verify_error.h).
// Claims are only looked at once the signature holds, so a forged token never learns which
// claim check it would fail.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "auth/claims.h"
#include "auth/token_cache.h"
#include "auth/verifier_config.h"
#include "auth/verify_error.h"

namespace herald::auth {

class Verifier {
 public:
  // Validates and keeps `config`. Throws std::invalid_argument with a one-line reason on bad
  // configuration: empty HS256 secret, no public key for RS256/ES256, a key that is not a PEM
  // public key of the configured kind, a secret and keys both given, leeway outside
  // [0, kMaxLeeway].
  explicit Verifier(VerifierConfig config);

  // Thread-safe (libjwt decodes into per-call state; the token cache has its own lock). A token
  // that verified before and has not expired at `now` is answered from the cache, with the
  // answer a fresh verification would give. `now` is injected so tests control time.
  // A refused token is auth::Refusal(reason): kUnauthorized, with the reason as its cause.
  Result<Claims> Verify(std::string_view token, std::chrono::system_clock::time_point now) const;

  Algorithm algorithm() const { return config_.algorithm; }
  std::size_t cached_tokens() const { return cache_->size(); }

 private:
  VerifierConfig config_;  // public keys normalised to SubjectPublicKeyInfo PEM
  std::unique_ptr<TokenCache> cache_;
};

}  // namespace herald::auth
