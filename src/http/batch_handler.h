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
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/claims.h"
#include "core/error.h"
#include "core/event_validation.h"
#include "core/json_numbers.h"
#include "http/requester.h"
#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"
#include "hub/publication.h"

namespace herald::http {

// The most items one batch may carry; more → 413.
inline constexpr std::size_t kMaxBatchItems = 10'000;

boost::asio::awaitable<Response> HandleBatch(const Request& request, const RouteMatch& match,
                                             Requester* requester, Services* services);

// The two pure steps of HandleBatch, declared here so the fuzzer (fuzz/event_validation_fuzz.cpp)
// drives the same code. The items of the body (a JSON array, or NDJSON lines when Content-Type
// is application/x-ndjson), each parsed or why not, or an error for the whole request;
// `numbers` receives the text of each item's numbers (core/json_numbers.h). The items' memory
// comes from `storage` (the default resource unless given).
Result<std::vector<Result<boost::json::value>>> ParseItems(const Request& request,
                                                           std::vector<NumberTexts>& numbers,
                                                           boost::json::storage_ptr storage = {});
// One batch item → a draft, or why not. The item's event is moved into the draft.
hub::DraftResult DraftFromItem(boost::json::value& value, const auth::Claims& caller,
                               std::chrono::system_clock::time_point now,
                               ValidationMode validation);

}  // namespace herald::http
