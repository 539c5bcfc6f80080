// The request/response routes (everything but streams). Each parses the request, authorises
// the caller and calls hub logic that knows nothing of HTTP.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"

namespace herald::http {

// Answers one routed, non-stream request from `peer` (the client's address).
boost::asio::awaitable<Response> HandleRequest(const Request& request, const RouteMatch& match,
                                               std::string_view peer, Services* services);

}  // namespace herald::http
