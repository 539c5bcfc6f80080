#include "core/error.h"

#include <utility>

namespace herald {

std::string_view CodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
      return "bad_request";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kHeadersTooLarge:
      return "request_header_fields_too_large";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kValidationError:
      return "validation_error";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kServiceUnavailable:
      return "service_unavailable";
    case ErrorCode::kInternalError:
      return "internal_error";
  }
  return "internal_error";
}

ErrorException::ErrorException(Error error)
    : std::runtime_error(std::string(CodeName(error.code)) + ": " + error.message),
      error_(std::move(error)) {}

void throw_exception_from_error(const Error& error, const boost::source_location& /*location*/) {
  throw ErrorException(error);
}

}  // namespace herald
