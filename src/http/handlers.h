// The request/response routes (everything but streams). Each parses the request, authorises
// the caller and calls hub logic that knows nothing of HTTP.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "http/requester.h"
#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"

namespace herald::http {

// Answers one routed, non-stream request; a handler that verifies the caller's token notes its
// user in `requester` (whom the session charges the response to).
boost::asio::awaitable<Response> HandleRequest(const Request& request, const RouteMatch& match,
                                               Requester* requester, Services* services);

}  // namespace herald::http
