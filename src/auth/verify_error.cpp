#include "auth/verify_error.h"

#include <string>

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

namespace {

// A function-local static, never deleted through a base pointer (Boost's error_category has a
// protected non-virtual destructor by design).
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor)
class VerifyErrorCategoryImpl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "herald.auth"; }
  std::string message(int value) const override {
    return std::string(Describe(static_cast<VerifyError>(value)));
  }
};

}  // namespace

const boost::system::error_category& VerifyErrorCategory() {
  static const VerifyErrorCategoryImpl category;
  return category;
}

boost::system::error_code make_error_code(VerifyError error) {
  return {static_cast<int>(error), VerifyErrorCategory()};
}

Error Refusal(VerifyError reason) {
  return Error{ErrorCode::kUnauthorized,
               "Invalid token: " + std::string(Describe(reason)),
               {},
               {},
               make_error_code(reason)};
}

std::optional<VerifyError> ReasonOf(const Error& error) {
  if (error.cause.category() != VerifyErrorCategory()) return std::nullopt;
  return static_cast<VerifyError>(error.cause.value());
}

}  // namespace herald::auth
