// Why a token was refused. Every value maps to 401 at the HTTP layer; Describe() gives a short
// text that is safe to send to the client (it names the rule, never the token's contents).
#pragma once

#include <string_view>

namespace herald::auth {

enum class VerifyError {
  kMalformed,       // not three base64url segments of JSON objects, too large, bad claim types
  kBadSignature,    // the signature does not verify with the selected key
  kWrongAlgorithm,  // header "alg" differs from the configured algorithm (incl. "none")
  kExpired,         // now >= exp + leeway
  kNotYetValid,     // now < nbf - leeway
  kMissingExpiry,   // no "exp" claim
  kMissingSubject,  // "sub" absent, not a string, or not a valid client id
  kBadAudience,     // audience configured and not among "aud"
  kBadIssuer,       // issuer configured and "iss" differs
  kUnknownKey,      // no configured public key for the header "kid" (and no default key)
  // Header or claims hold a value libjwt's JSON parser (jansson) cannot read — an integer beyond
  // 64 bits, a number out of range, a NUL character — so the signature cannot be checked.
  kUnverifiableClaims,
};

std::string_view Describe(VerifyError error);

}  // namespace herald::auth
