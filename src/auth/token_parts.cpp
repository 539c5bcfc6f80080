#include "auth/token_parts.h"

#include <boost/json/parse.hpp>
#include <string>
#include <system_error>

#include "auth/base64url.h"

namespace herald::auth {
namespace {

namespace json = boost::json;

std::optional<json::object> DecodeJsonObject(std::string_view segment) {
  if (segment.empty()) return std::nullopt;
  const std::optional<std::string> text = DecodeBase64Url(segment);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);  // default limits: depth 32, strict UTF-8
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

}  // namespace

std::optional<TokenParts> SplitToken(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) return std::nullopt;
  const auto first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return std::nullopt;
  const auto second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return std::nullopt;
  if (token.find('.', second_dot + 1) != std::string_view::npos) return std::nullopt;

  TokenParts parts;
  parts.signing_input = token.substr(0, second_dot);
  parts.signature = token.substr(second_dot + 1);
  if (!DecodeBase64Url(parts.signature)) return std::nullopt;
  auto header = DecodeJsonObject(token.substr(0, first_dot));
  if (!header) return std::nullopt;
  auto payload = DecodeJsonObject(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!payload) return std::nullopt;
  parts.header = std::move(*header);
  parts.payload = std::move(*payload);
  return parts;
}

}  // namespace herald::auth
