// X-Request-Id (issue 17): every answer names its request, so a client's report and the hub's
// logs can be matched. A client (or a proxy in front) may send its own id, which is kept.
#pragma once

#include <string>
#include <string_view>

#include "http/responses.h"

namespace herald::http {

inline constexpr std::string_view kRequestIdHeader = "X-Request-Id";
// The longest X-Request-Id kept from a request.
inline constexpr std::size_t kMaxRequestIdBytes = 128;

// The request's X-Request-Id when it sent one of 1 to kMaxRequestIdBytes visible ASCII
// characters (no spaces); otherwise a new one, unique in this process and unlikely to repeat
// across processes (a random prefix and a counter, 24 hex digits). Thread-safe.
std::string RequestIdOf(const Request& request);

}  // namespace herald::http
