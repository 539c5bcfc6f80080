// Why a token was refused. A refusal crosses the auth boundary as one herald::Error
// (kUnauthorized, "Invalid token: <Describe>") whose `cause` is the VerifyError, an error_code of
// auth's own category, so logs and tests can still tell the reasons apart (docs/DECISIONS.md
// "One result type and one error vocabulary"). Describe() gives a short text that is safe to
// send to the client (it names the rule, never the token's contents).
#pragma once

#include <boost/system/error_code.hpp>
#include <optional>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace herald::auth {

// Values start at 1: an error_code of value 0 means "no error".
enum class VerifyError {
  kMalformed = 1,   // not three base64url segments of JSON objects, too large, bad claim types
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

// The error_code category of VerifyError ("herald.auth"; message() is Describe()).
const boost::system::error_category& VerifyErrorCategory();
boost::system::error_code make_error_code(VerifyError error);

// The refusal as the one error vocabulary: kUnauthorized, "Invalid token: <Describe>", and the
// reason as its cause.
Error Refusal(VerifyError reason);

// The reason of a Refusal; nullopt for any other error.
std::optional<VerifyError> ReasonOf(const Error& error);

}  // namespace herald::auth

template <>
struct boost::system::is_error_code_enum<herald::auth::VerifyError> : std::true_type {};
