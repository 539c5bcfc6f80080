#include "auth/verify_error.h"

namespace herald::auth {

std::string_view Describe(VerifyError error) {
  switch (error) {
    case VerifyError::kMalformed:
      return "malformed token";
    case VerifyError::kBadSignature:
      return "invalid token signature";
    case VerifyError::kWrongAlgorithm:
      return "unexpected token algorithm";
    case VerifyError::kExpired:
      return "token expired";
    case VerifyError::kNotYetValid:
      return "token not yet valid";
    case VerifyError::kMissingExpiry:
      return "token has no expiry";
    case VerifyError::kMissingSubject:
      return "token has no valid subject";
    case VerifyError::kBadAudience:
      return "token audience not accepted";
    case VerifyError::kBadIssuer:
      return "token issuer not accepted";
    case VerifyError::kUnknownKey:
      return "unknown token signing key";
    case VerifyError::kUnverifiableClaims:
      return "token claims hold an integer beyond 64 bits, a number out of range or a NUL "
             "character";
  }
  return "invalid token";
}

}  // namespace herald::auth
