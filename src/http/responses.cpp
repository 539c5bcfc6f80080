#include "http/responses.h"

#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <sstream>

#include "core/time_format.h"

namespace herald::http {

namespace beast_http = boost::beast::http;

Response JsonResponse(const Request& request, beast_http::status status, std::string body) {
  Response response{status, request.version()};
  response.set(beast_http::field::content_type, "application/json");
  response.set(beast_http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

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

std::string ErrorBody(const Error& error, std::chrono::system_clock::time_point now) {
  boost::json::object body;
  body["code"] = CodeName(error.code);
  body["message"] = error.message;
  if (!error.field.empty()) body["field"] = error.field;
  body["timestamp"] = FormatRfc3339(now);
  return boost::json::serialize(body);
}

Response ErrorResponse(const Request& request, const Error& error,
                       std::chrono::system_clock::time_point now) {
  Response response = JsonResponse(request, static_cast<beast_http::status>(HttpStatus(error.code)),
                                   ErrorBody(error, now));
  if (error.code == ErrorCode::kUnauthorized) {
    response.set(beast_http::field::www_authenticate, "Bearer");
  }
  if (error.code == ErrorCode::kRateLimited || error.code == ErrorCode::kServiceUnavailable) {
    const auto seconds = std::max<std::int64_t>(1, error.retry_after.count());
    response.set(beast_http::field::retry_after, std::to_string(seconds));
  }
  return response;
}

Error OverBudget(hub::ByteBudget::Refusal refusal) {
  if (refusal == hub::ByteBudget::Refusal::kPerKey) {
    return Error{ErrorCode::kRateLimited,
                 "Too many response bytes in flight for this user; retry later.",
                 {},
                 std::chrono::seconds(1)};
  }
  return Error{ErrorCode::kServiceUnavailable,
               "The hub is writing too many responses; retry shortly.",
               {},
               std::chrono::seconds(1)};
}

std::string SerializeResponse(Response& response) {
  std::ostringstream out;
  out << response;
  return std::move(out).str();
}

}  // namespace herald::http
