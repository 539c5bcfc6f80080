#include "auth/token_parts.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>

#include "auth/base64url.h"

namespace herald::auth {
namespace {

namespace json = boost::json;

// Sees every token of a JSON text, as jansson would read it (see TokenParts::portable); stops at
// the first that jansson reads differently.
class PortabilityCheck {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  bool portable = true;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t, json::error_code&) { return true; }
  bool on_string_part(std::string_view text, std::size_t, json::error_code& ec) {
    return Text(text, ec);
  }
  bool on_string(std::string_view text, std::size_t, json::error_code& ec) {
    return Text(text, ec);
  }
  bool on_key_part(std::string_view text, std::size_t, json::error_code& ec) {
    return Text(text, ec);
  }
  bool on_key(std::string_view text, std::size_t, json::error_code& ec) { return Text(text, ec); }
  bool on_number_part(std::string_view text, json::error_code&) {
    literal_.append(text);
    return true;
  }
  bool on_int64(std::int64_t, std::string_view, json::error_code&) {
    literal_.clear();
    return true;
  }
  bool on_uint64(std::uint64_t number, std::string_view, json::error_code& ec) {
    literal_.clear();
    return number <= static_cast<std::uint64_t>(INT64_MAX) || Stop(ec);
  }
  bool on_double(double number, std::string_view text, json::error_code& ec) {
    literal_.append(text);
    // An integer literal that fits neither int64 nor uint64 arrives here as a double.
    const bool integer = literal_.find_first_of(".eE") == std::string::npos;
    literal_.clear();
    return (std::isfinite(number) && !integer) || Stop(ec);
  }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(std::string_view, json::error_code&) { return true; }
  bool on_comment(std::string_view, json::error_code&) { return true; }

 private:
  bool Text(std::string_view text, json::error_code& ec) {
    return text.find('\0') == std::string_view::npos || Stop(ec);
  }
  bool Stop(json::error_code& ec) {
    portable = false;
    ec = json::error::extra_data;  // any error: it ends the pass
    return false;
  }

  std::string literal_;
};

struct DecodedObject {
  json::object object;
  bool portable = true;
};

std::optional<DecodedObject> DecodeJsonObject(std::string_view segment) {
  if (segment.empty()) return std::nullopt;
  const std::optional<std::string> text = DecodeBase64Url(segment);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);  // default limits: depth 32, strict UTF-8
  if (ec || !value.is_object()) return std::nullopt;
  json::basic_parser<PortabilityCheck> check(json::parse_options{});
  check.write_some(false, text->data(), text->size(), ec);
  return DecodedObject{std::move(value.get_object()), check.handler().portable};
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
  parts.header = std::move(header->object);
  parts.payload = std::move(payload->object);
  parts.portable = header->portable && payload->portable;
  return parts;
}

}  // namespace herald::auth
