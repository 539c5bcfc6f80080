// Cross-origin requests (CORS) for front-ends served from another origin (`--cors-origin`): the
// preflight answer, and the headers every answer to an allowed origin carries — SSE streams
// included. Off (no origin allowed) by default. Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/responses.h"

namespace herald::http {

// The request's Origin when `allowed` lists it ("*" allows any origin); nullopt otherwise (no
// Origin, or one not listed: the answer then carries no CORS header and the browser blocks it).
std::optional<std::string> AllowedOrigin(const Request& request,
                                         const std::vector<std::string>& allowed);

// An OPTIONS request with Access-Control-Request-Method: a browser asking before the real one.
bool IsPreflight(const Request& request);

// 204 with the methods and request headers Herald accepts (Authorization, Content-Type,
// Idempotency-Key, Last-Event-ID), credentials allowed (cookie auth) and a 10-minute max age.
Response PreflightResponse(const Request& request, const std::string& origin);

// The header lines for an answer to `origin`, each ending in CRLF: the origin echoed (never "*",
// which browsers refuse with credentials), credentials, `Vary: Origin`, and the headers a
// script may read (Retry-After, WWW-Authenticate).
std::string CorsHeaderLines(const std::string& origin);
void AddCorsHeaders(Response& response, const std::string& origin);

}  // namespace herald::http
