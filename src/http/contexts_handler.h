// The contexts API (spec §1.3); publishing to a context is contexts_events_handler.h.
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

}  // namespace herald::http
