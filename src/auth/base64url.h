// base64url without padding (RFC 4648 §5, as JWS uses it: RFC 7515 §2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herald::auth {

std::string EncodeBase64Url(std::string_view bytes);

// Strict: nullopt on '=' or any character outside [A-Za-z0-9_-], on a length that no encoding
// produces (4n+1), and on non-zero unused trailing bits, so each text decodes one way only.
std::optional<std::string> DecodeBase64Url(std::string_view text);

}  // namespace herald::auth
