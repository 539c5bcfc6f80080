// Building responses: JSON bodies, the error shape of spec §1.5, common headers.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <string>

#include "core/error.h"
#include "hub/byte_budget.h"

namespace herald::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

Response JsonResponse(const Request& request, boost::beast::http::status status, std::string body);

// The one place an Error becomes HTTP: its status (spec §1.5)…
int HttpStatus(ErrorCode code);

// …its body, {"code":"…","message":"…","timestamp":"<rfc3339>"} plus "field" for validation
// errors…
std::string ErrorBody(const Error& error, std::chrono::system_clock::time_point now);

// …and the whole response: that status and body, with WWW-Authenticate on 401 and Retry-After
// on 429/503.
Response ErrorResponse(const Request& request, const Error& error,
                       std::chrono::system_clock::time_point now);

// The refusal of a response body that would take the requester past its share of the
// bytes-in-flight budget (429: its own doing), or the process past the whole budget (503: the
// hub's load).
Error OverBudget(hub::ByteBudget::Refusal refusal);

// The same error, as raw HTTP/1.1 bytes (used before a stream is handed its socket).
std::string SerializeResponse(Response& response);

}  // namespace herald::http
