// POST /api/v1/core/contexts/{id}/events (spec §1.2): one event published to a context the
// caller owns.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "http/requester.h"
#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"

namespace herald::http {

// Body: an envelope {"protocol","event"}. Answer: 200 {"success":true,"protocol","broadcast_count",
// "context_id","event_id"}; the context must exist and be the caller's.
boost::asio::awaitable<Response> HandleContextEvents(const Request& request,
                                                     const RouteMatch& match, Requester* requester,
                                                     Services* services);

}  // namespace herald::http
