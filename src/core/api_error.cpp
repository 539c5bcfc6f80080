#include "core/api_error.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/time_format.h"

namespace herald {

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kHeadersTooLarge:
      return 431;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kValidationError:
      return 422;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kServiceUnavailable:
      return 503;
    case ErrorCode::kInternalError:
      return 500;
  }
  return 500;
}

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

std::string ErrorBody(const ApiError& error, std::chrono::system_clock::time_point now) {
  boost::json::object body;
  body["code"] = CodeName(error.code);
  body["message"] = error.message;
  if (!error.field.empty()) body["field"] = error.field;
  body["timestamp"] = FormatRfc3339(now);
  return boost::json::serialize(body);
}

}  // namespace herald
