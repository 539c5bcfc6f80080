#include "http/authenticate.h"

#include <boost/url/params_encoded_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>

namespace herald::http {

namespace beast_http = boost::beast::http;

namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::string> CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semicolon = header.find(';');
    std::string_view pair = Trim(header.substr(0, semicolon));
    header =
        semicolon == std::string_view::npos ? std::string_view{} : header.substr(semicolon + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos || Trim(pair.substr(0, equals)) != name) continue;
    std::string_view value = Trim(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!value.empty()) return std::string(value);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ExtractToken(const Request& request, std::string_view query,
                                        bool allow_query_token) {
  const auto authorization = request.find(beast_http::field::authorization);
  if (authorization != request.end()) {
    const std::string_view value = Trim(authorization->value());
    constexpr std::string_view kBearer = "Bearer ";
    if (value.size() > kBearer.size()) {
      std::string scheme(value.substr(0, kBearer.size()));
      for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (scheme == "bearer ") return std::string(Trim(value.substr(kBearer.size())));
    }
    return std::nullopt;  // an Authorization header of another scheme is not silently skipped
  }
  for (auto it = request.find(beast_http::field::cookie);
       it != request.end() && it->name() == beast_http::field::cookie; ++it) {
    if (auto token = CookieValue(it->value(), "access_token")) return token;
  }
  if (allow_query_token && !query.empty()) {
    auto params = boost::urls::parse_query(query);
    if (params) {
      for (auto param : *params) {
        if (param.key == "access_token" && param.has_value) {
          return std::string(param.value.decode());
        }
      }
    }
  }
  return std::nullopt;
}

Result<auth::Claims> Authenticate(const Request& request, std::string_view query,
                                  const auth::Verifier& verifier, bool allow_query_token,
                                  std::chrono::system_clock::time_point now) {
  const auto token = ExtractToken(request, query, allow_query_token);
  if (!token) return Error{ErrorCode::kUnauthorized, "A bearer token is required."};
  return verifier.Verify(*token, now);
}

Result<auth::Claims> AuthenticateAndCharge(const Request& request, std::string_view query,
                                           Services& services, hub::RateLimitKind kind,
                                           Requester& requester) {
  auto caller = Authenticate(request, query, services.verifier, services.options.allow_query_token,
                             services.Now());
  if (caller) requester.user = caller->user;
  auto limited =
      caller ? services.rate_limits.Charge(kind, caller->user.str())
             : services.rate_limits.Charge(hub::RateLimitKind::kUnauthenticated, requester.peer);
  if (limited) return std::move(*limited);
  return caller;
}

}  // namespace herald::http
