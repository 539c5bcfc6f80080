// Finding and verifying the caller's token (spec §2): Authorization: Bearer, then the
// access_token cookie, then (only when enabled) the access_token query parameter.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "auth/verifier.h"
#include "core/error.h"
#include "http/requester.h"
#include "http/responses.h"
#include "http/services.h"
#include "hub/rate_limiter.h"

namespace herald::http {

// The token the request carries, by the order of spec §2; nullopt when there is none.
std::optional<std::string> ExtractToken(const Request& request, std::string_view query,
                                        bool allow_query_token);

// The caller's verified claims, or an unauthorized Error (for a refused token, auth::Refusal).
Result<auth::Claims> Authenticate(const Request& request, std::string_view query,
                                  const auth::Verifier& verifier, bool allow_query_token,
                                  std::chrono::system_clock::time_point now);

// Authenticate, then one request of `kind` charged to the caller (spec §6): to the token's user
// (noted in `requester`), or — when the request carries no valid token — to the requester's
// address, whose spent budget turns the 401 into a 429. The claims, or the error to answer.
Result<auth::Claims> AuthenticateAndCharge(const Request& request, std::string_view query,
                                           Services& services, hub::RateLimitKind kind,
                                           Requester& requester);

}  // namespace herald::http
