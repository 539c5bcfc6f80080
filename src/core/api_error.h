// The error vocabulary of the HTTP API (spec §1.5), independent of any HTTP library.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace herald {

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

struct ApiError {
  ErrorCode code = ErrorCode::kInternalError;
  std::string message;
  // For kValidationError: the offending field (a JSON path such as "event.messageId").
  std::string field;
  // For kRateLimited and kServiceUnavailable: the Retry-After value.
  std::chrono::seconds retry_after{0};
};

int HttpStatus(ErrorCode code);
std::string_view CodeName(ErrorCode code);

// {"code":"…","message":"…","timestamp":"<rfc3339>"} plus "field" for validation errors.
std::string ErrorBody(const ApiError& error, std::chrono::system_clock::time_point now);

}  // namespace herald
