// How tokens are verified. Parsed once by the app layer, validated by Verifier's constructor.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace herald::auth {

// The largest leeway a configuration may ask for.
inline constexpr std::chrono::seconds kMaxLeeway{24 * 60 * 60};

enum class Algorithm { kHs256, kRs256, kEs256 };

struct VerifierConfig {
  // Fixed by configuration, never taken from the token: a token whose header "alg" differs is
  // refused (spec §2).
  Algorithm algorithm = Algorithm::kHs256;
  // For kHs256: the shared secret (its bytes are the HMAC key).
  std::string hs256_secret;
  // For kRs256/kEs256: PEM public keys ("BEGIN PUBLIC KEY", or a "BEGIN CERTIFICATE" whose key is
  // used). Key "" is the default key; the others are selected by the token header "kid". A token
  // whose "kid" is not configured falls back to the default key when there is one.
  std::map<std::string, std::string> public_keys_pem;
  // Checked when non-empty ("aud" may be a string or an array of strings).
  std::string audience;
  // Checked when non-empty.
  std::string issuer;
  // Applies to "exp" and "nbf". Between 0 and 24 hours.
  std::chrono::seconds leeway{30};
  // Verified tokens remembered until they expire, so a token sent again is not verified again
  // (auth/token_cache.h); 0 verifies every time.
  std::size_t cache_entries = 4096;
};

}  // namespace herald::auth
