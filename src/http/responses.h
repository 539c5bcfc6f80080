// Building responses: JSON bodies, the error shape of spec §1.5, common headers.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <string>

#include "core/api_error.h"

namespace herald::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

Response JsonResponse(const Request& request, boost::beast::http::status status, std::string body);

// The error shape of spec §1.5, with WWW-Authenticate on 401 and Retry-After on 429/503.
Response ErrorResponse(const Request& request, const ApiError& error,
                       std::chrono::system_clock::time_point now);

// The same error, as raw HTTP/1.1 bytes (used before a stream is handed its socket).
std::string SerializeResponse(Response& response);

}  // namespace herald::http
