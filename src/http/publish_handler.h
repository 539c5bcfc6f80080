// POST /api/v1/webhook/{agui,a2a} (spec §1.2).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "auth/claims.h"
#include "core/error.h"
#include "core/json_numbers.h"
#include "http/requester.h"
#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"
#include "hub/publisher.h"

namespace herald::http {

boost::asio::awaitable<Response> HandleWebhook(const Request& request, const RouteMatch& match,
                                               Requester* requester, Services* services);

// The request's Idempotency-Key (spec §1.2), scoped to the caller and the route, with a
// fingerprint of the body; nullopt without the header; 400 for a malformed key (1-255 visible
// ASCII characters).
Result<std::optional<hub::IdempotencyKey>> IdempotencyOf(const Request& request,
                                                         const auth::Claims& caller,
                                                         std::string_view route);

// Marks a response answering a replayed Idempotency-Key.
void MarkReplayed(Response& response, const hub::PublishOutcome& outcome);

// The request's media type, lower-cased, without parameters; "" when absent.
std::string MediaType(const Request& request);

// Parses a JSON request body with the limits of spec §3.2: Content-Type application/json
// (else 415), valid JSON (else 400), nesting at most kMaxJsonDepth (else 422). An event's body
// passes `numbers`, which receives the text of its numbers (core/json_numbers.h). The value's
// memory comes from `storage` (the default resource unless given).
Result<boost::json::value> ParseJsonBody(const Request& request, NumberTexts* numbers = nullptr,
                                         boost::json::storage_ptr storage = {});
// The same, without the content-type check (for one NDJSON line).
Result<boost::json::value> ParseJson(std::string_view text, NumberTexts* numbers = nullptr,
                                     boost::json::storage_ptr storage = {});

// Memory to parse a body of `body_bytes` in: the calling thread's, kept for its next request, so
// that a body's values (one per member, string and number; a 250 KB batch is some 20 000 of
// them) are carved from memory already mapped instead of allocated and freed one by one. The
// thread keeps up to 4 MiB; what a body needs beyond that comes from the heap for that request
// only. The values must be gone before the resource is, and before the caller waits: another
// request on the same thread parses into the same memory.
boost::json::monotonic_resource ThreadParseMemory(std::size_t body_bytes);

}  // namespace herald::http
