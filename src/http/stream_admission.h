// Admitting a stream request (spec §1.1, §2, §6): the caller authenticated and charged, its
// filter and cursor read, and a slot under the per-user connection cap taken on this node and,
// in cluster mode, across the cluster. The HTTP session (http/server.cpp) then hands the
// connection to an SSE session (http/sse_session.h).
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "http/requester.h"
#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"
#include "http/sse_session.h"

namespace herald::http {

// Authenticates the caller and charges it a stream open (AuthenticateAndCharge, which notes its
// user in `requester`), then admits the stream on this node: refused while the hub drains, for a
// malformed context_id, or over the user's connection cap. Owning shard only.
Result<StreamRequest> PrepareStream(const Request& request, const RouteMatch& match,
                                    Requester& requester, Services& services);

// Cluster mode (spec §6): the cap counts the user's streams on every live node, checked on a
// store thread. A refused stream gives its local slot back. Without a cluster, `stream` as is.
boost::asio::awaitable<Result<StreamRequest>> AdmitAcrossCluster(StreamRequest stream,
                                                                 Services* services);

}  // namespace herald::http
