#include "http/cors.h"

#include <algorithm>

namespace herald::http {

namespace beast_http = boost::beast::http;

namespace {

constexpr char kAllowMethods[] = "GET, POST, PUT, DELETE, OPTIONS";
constexpr char kAllowHeaders[] = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID";
constexpr char kExposeHeaders[] = "Retry-After, WWW-Authenticate, X-Request-Id";

}  // namespace

std::optional<std::string> AllowedOrigin(const Request& request,
                                         const std::vector<std::string>& allowed) {
  if (allowed.empty()) return std::nullopt;
  const auto origin = request.find(beast_http::field::origin);
  if (origin == request.end() || origin->value().empty()) return std::nullopt;
  const std::string value(origin->value());
  // An origin is echoed into a header: refuse anything that could break the header's line.
  if (value.find_first_of("\r\n") != std::string::npos) return std::nullopt;
  const bool listed = std::any_of(allowed.begin(), allowed.end(),
                                  [&](const std::string& a) { return a == "*" || a == value; });
  if (!listed) return std::nullopt;
  return value;
}

bool IsPreflight(const Request& request) {
  return request.method() == beast_http::verb::options &&
         request.find(beast_http::field::access_control_request_method) != request.end();
}

Response PreflightResponse(const Request& request, const std::string& origin) {
  Response response{beast_http::status::no_content, request.version()};
  AddCorsHeaders(response, origin);
  response.set(beast_http::field::access_control_allow_methods, kAllowMethods);
  response.set(beast_http::field::access_control_allow_headers, kAllowHeaders);
  response.set(beast_http::field::access_control_max_age, "600");
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

std::string CorsHeaderLines(const std::string& origin) {
  return "Access-Control-Allow-Origin: " + origin +
         "\r\n"
         "Access-Control-Allow-Credentials: true\r\n"
         "Access-Control-Expose-Headers: " +
         std::string(kExposeHeaders) +
         "\r\n"
         "Vary: Origin\r\n";
}

void AddCorsHeaders(Response& response, const std::string& origin) {
  response.set(beast_http::field::access_control_allow_origin, origin);
  response.set(beast_http::field::access_control_allow_credentials, "true");
  response.set(beast_http::field::access_control_expose_headers, kExposeHeaders);
  response.set(beast_http::field::vary, "Origin");
}

}  // namespace herald::http
