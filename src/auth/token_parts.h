// The structure of a compact JWS (RFC 7515 §7.1): "<header>.<payload>.<signature>", each segment
// base64url, header and payload JSON objects. Structure only: no key, no signature check.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <optional>
#include <string_view>

namespace herald::auth {

// Longer tokens are refused before any decoding (an honest token is well under 2 KiB).
inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;

struct TokenParts {
  std::string_view signing_input;  // "<header>.<payload>": the bytes the signature covers
  std::string_view signature;      // base64url text; may be empty
  boost::json::object header;
  boost::json::object payload;
  // Whether libjwt's parser (jansson) reads both segments as Boost.JSON does: no integer literal
  // beyond int64, no number that overflows a double, no NUL in a string or key — anywhere in the
  // text, duplicate keys included. libjwt reports such claims as a bad signature.
  bool portable = true;
};

// nullopt unless `token` is at most kMaxTokenBytes, has exactly two dots, and its segments are
// strict base64url with the first two decoding to JSON objects. The views point into `token`.
// Pure; thread-safe.
std::optional<TokenParts> SplitToken(std::string_view token);

}  // namespace herald::auth
