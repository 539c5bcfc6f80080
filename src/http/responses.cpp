#include "http/responses.h"

#include <boost/beast/http/write.hpp>
#include <sstream>

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

Response ErrorResponse(const Request& request, const ApiError& error,
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

std::string SerializeResponse(Response& response) {
  std::ostringstream out;
  out << response;
  return std::move(out).str();
}

}  // namespace herald::http
