// The one error vocabulary (spec §1.5) and the one result type every layer returns across its
// boundary (docs/DECISIONS.md "One result type and one error vocabulary"). No HTTP here: the
// http layer alone maps an Error to a status and a body (http/responses.h).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace herald {

// What went wrong, by the names of spec §1.5 (the wire vocabulary).
enum class ErrorCode {
  kBadRequest,
  kUnauthorized,
  kForbidden,
  kNotFound,
  kMethodNotAllowed,
  kConflict,
  kPayloadTooLarge,
  kHeadersTooLarge,
  kUnsupportedMediaType,
  kValidationError,
  kRateLimited,
  kServiceUnavailable,
  kInternalError,
};

// The wire name of `code` ("validation_error", …).
std::string_view CodeName(ErrorCode code);

struct Error {
  Error() = default;
  // The trailing members default to "none", so an Error names only what it has.
  Error(ErrorCode code, std::string message, std::string field = {},
        std::chrono::seconds retry_after = {}, boost::system::error_code cause = {})
      : code(code),
        message(std::move(message)),
        field(std::move(field)),
        retry_after(retry_after),
        cause(cause) {}

  ErrorCode code = ErrorCode::kInternalError;
  // Safe to send to the client; a store failure's text is for logs only (see the store).
  std::string message;
  // For kValidationError: the offending field (a JSON path such as "event.messageId"); empty:
  // none.
  std::string field;
  // For kRateLimited and kServiceUnavailable: the Retry-After value; zero: none.
  std::chrono::seconds retry_after{0};
  // A layer's finer reason, when it keeps one (auth: an auth::VerifyError); empty: none.
  boost::system::error_code cause;
};

// A validation_error naming the offending `field` (spec §6: the field of a 400/422).
inline Error InvalidField(std::string field, std::string message) {
  return Error{ErrorCode::kValidationError, std::move(message), std::move(field)};
}

// Thrown by Result<T>::value() on an error: a program that did not test its result first.
class ErrorException : public std::runtime_error {
 public:
  explicit ErrorException(Error error);
  const Error& error() const { return error_; }

 private:
  Error error_;
};

// boost::system::result's hook for value() on an error (found by ADL).
[[noreturn]] void throw_exception_from_error(const Error& error,
                                             const boost::source_location& location);

// A T or the Error that prevented it.
template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace herald
