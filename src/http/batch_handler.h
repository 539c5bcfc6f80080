// POST /api/v1/events: many events in one request and one commit (spec §1.2, batch publish).
//
// Body: a JSON array of {"user_id","protocol","event","context_id"?} items, or the same items
// as NDJSON (Content-Type: application/x-ndjson, one object per line, blank lines ignored).
// Answer: 200 {"results":[…],"accepted":A,"rejected":R}, one result per item in order:
//   {"status":200,"event_id":"…","connection_count":N}
//   {"status":4xx,"code":"…","message":"…","field":"…"?}
// An invalid item does not reject the valid ones. The valid items are stored in one
// transaction: all of them or (store failure → 503 for the request) none.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"

namespace herald::http {

// The most items one batch may carry; more → 413.
inline constexpr std::size_t kMaxBatchItems = 10'000;

boost::asio::awaitable<Response> HandleBatch(const Request& request, const RouteMatch& match,
                                             std::string_view peer, Services* services);

}  // namespace herald::http
