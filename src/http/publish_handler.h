// POST /api/v1/webhook/{agui,a2a} (spec §1.2).
#pragma once

#include <boost/asio/awaitable.hpp>

#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"

namespace herald::http {

boost::asio::awaitable<Response> HandleWebhook(const Request& request, const RouteMatch& match,
                                               Services* services);

// Parses a JSON request body with the limits of spec §3.2 (content type, nesting depth).
// On failure returns the error to answer with.
std::variant<boost::json::value, ApiError> ParseJsonBody(const Request& request);

}  // namespace herald::http
