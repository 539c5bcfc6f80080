// The contexts API (spec §1.3) and POST /api/v1/core/contexts/{id}/events (spec §1.2).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "http/requester.h"
#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"

namespace herald::http {

// GET (list) and POST (create) on /api/v1/core/contexts.
boost::asio::awaitable<Response> HandleContexts(const Request& request, const RouteMatch& match,
                                                Requester* requester, Services* services);

// GET, PUT (rename) and DELETE on /api/v1/core/contexts/{id}.
boost::asio::awaitable<Response> HandleContext(const Request& request, const RouteMatch& match,
                                               Requester* requester, Services* services);

// POST /api/v1/core/contexts/{id}/events: an envelope {"protocol","event"} for a context the
// caller owns.
boost::asio::awaitable<Response> HandleContextEvents(const Request& request,
                                                     const RouteMatch& match, Requester* requester,
                                                     Services* services);

}  // namespace herald::http
