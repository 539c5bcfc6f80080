// POST /api/v1/webhook/{agui,a2a} (spec §1.2).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "core/api_error.h"

#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"

namespace herald::http {

boost::asio::awaitable<Response> HandleWebhook(const Request& request, const RouteMatch& match,
                                               Services* services);

// The request's media type, lower-cased, without parameters; "" when absent.
std::string MediaType(const Request& request);

// Parses a JSON request body with the limits of spec §3.2: Content-Type application/json
// (else 415), valid JSON (else 400), nesting at most kMaxJsonDepth (else 422).
std::variant<boost::json::value, ApiError> ParseJsonBody(const Request& request);
// The same, without the content-type check (for one NDJSON line).
std::variant<boost::json::value, ApiError> ParseJson(std::string_view text);

}  // namespace herald::http
