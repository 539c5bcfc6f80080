// Bytes → what one HTTP/1.1 connection to the hub does with them before any handler runs
// (src/http/server.cpp RunHttpSession): Beast's request parser with the server's header and body
// limits, read as ReadRequest reads (the head, then the body unless the head ends the message),
// request after request on one buffer as a keep-alive connection does; then, per request, the
// CORS check, Route, the stream parameters (context_id, Last-Event-ID, ?last_event_id=), token
// extraction from header, cookie and query with verification, and the publish routes' body
// parsing (webhook JSON, batch JSON/NDJSON) and Idempotency-Key. Every answer the session would
// build from the request is built and serialised.
//
// The session's socket is a Beast test stream holding the input, closed after it: the same read
// algorithms, synchronous, without a network or a clock.
//
// Invariants: a match's path id and query come from the target; a redirect's location is not
// redirected again; an echoed origin cannot end the head; every answer serialises to a head that
// parses back with its status and its number of fields.
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <iterator>
#include <string>
#include <variant>
#include <vector>

#include "auth/verifier.h"
#include "core/event_id.h"
#include "core/ids.h"
#include "core/json_numbers.h"
#include "fuzz_support.h"
#include "http/authenticate.h"
#include "http/batch_handler.h"
#include "http/cors.h"
#include "http/publish_handler.h"
#include "http/responses.h"
#include "http/router.h"
#include "http/services.h"

namespace {

namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
namespace http = herald::http;
using herald::fuzz::kNow;
using herald::fuzz::Require;
using Parser = beast_http::request_parser<beast_http::string_body>;

// The server's limits: HttpOptions' defaults, which `herald serve` keeps unless configured.
const http::HttpOptions kOptions;
// A connection's requests replayed per input; more adds run time, not coverage.
constexpr int kMaxRequestsPerConnection = 4;
// The origins of a hub started with --cors-origin https://app.example --cors-origin '*'
// would match anything; check both an exact list and the wildcard.
const std::vector<std::string> kExactOrigins = {"https://app.example"};
const std::vector<std::string> kAnyOrigin = {"*"};

const herald::auth::Verifier& TheVerifier() {
  static const herald::auth::Verifier verifier([] {
    herald::auth::VerifierConfig config;
    config.hs256_secret = std::string(herald::fuzz::kHs256Secret);
    return config;
  }());
  return verifier;
}

// An answer is written as Beast serialises it; read back, its head must hold the same status and
// the same number of fields (a value that broke its line would add one, or end the head).
void Serialise(http::Response response) {
  const std::string wire = http::SerializeResponse(response);
  beast_http::response_parser<beast_http::empty_body> parser;
  parser.skip(true);  // the head only
  parser.header_limit(static_cast<std::uint32_t>(wire.size()));
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(wire), ec);
  Require(!ec && parser.is_header_done(), "an answer's head parses back");
  Require(parser.get().result_int() == response.result_int(), "an answer keeps its status");
  Require(std::distance(parser.get().begin(), parser.get().end()) ==
              std::distance(response.begin(), response.end()),
          "an answer's head keeps its fields");
}

void Answer(const http::Request& request, const herald::Error& error) {
  Serialise(http::ErrorResponse(request, error, kNow));
}

// As server.cpp's ReadRequest, synchronously: the head, then (unless the head ended the
// message) the body. The 100 Continue it may write depends on no byte beyond the Expect header.
boost::system::error_code ReadRequest(beast::test::stream& stream, beast::flat_buffer& buffer,
                                      Parser& parser) {
  boost::system::error_code ec;
  beast_http::read_header(stream, buffer, parser, ec);
  if (ec || parser.is_done()) return ec;
  beast_http::read(stream, buffer, parser, ec);
  return ec;
}

// What PrepareStream reads from a stream request besides the token.
void StreamParameters(const http::Request& request, const http::RouteMatch& match) {
  if (auto context = http::QueryParam(match.query, "context_id")) {
    (void)herald::IsValidContextId(*context);
  }
  const auto header = request.find("Last-Event-ID");
  if (header != request.end()) {
    (void)herald::ParseEventId(header->value());
  } else if (auto cursor = http::QueryParam(match.query, "last_event_id")) {
    (void)herald::ParseEventId(*cursor);
  }
}

// The body parsing of the publish routes (HandleWebhook, HandleBatch) and their Idempotency-Key.
void PublishBody(const http::Request& request, const http::RouteMatch& match,
                 const herald::auth::Claims& caller) {
  if (match.route == http::RouteId::kEventsBatch) {
    std::vector<herald::NumberTexts> numbers;
    (void)http::ParseItems(request, numbers);
  } else if (match.route == http::RouteId::kWebhookAgui ||
             match.route == http::RouteId::kWebhookA2a ||
             match.route == http::RouteId::kWebhookBroadcast ||
             match.route == http::RouteId::kContextEvents) {
    herald::NumberTexts numbers;
    (void)http::ParseJsonBody(request, &numbers);
  } else {
    // The contexts API's bodies (create, rename) are JSON objects without an Idempotency-Key.
    if (match.route == http::RouteId::kContexts || match.route == http::RouteId::kContext) {
      if (!request.body().empty()) (void)http::ParseJsonBody(request);
    }
    return;
  }
  auto key = http::IdempotencyOf(request, caller, "/api/v1/events");
  if (!key) Answer(request, key.error());
}

void Authenticated(const http::Request& request, const http::RouteMatch& match) {
  // Without --allow-query-token (Authenticate below runs with it).
  (void)http::ExtractToken(request, match.query, false);
  auto caller = http::Authenticate(request, match.query, TheVerifier(), true, kNow);
  if (!caller) {
    Answer(request, caller.error());
    // Past a refused token the handlers stop; the body is still parsed here for coverage, on
    // behalf of a caller the request does not name.
    PublishBody(request, match, herald::auth::Claims{herald::UserId("fuzz"), {}, kNow});
    return;
  }
  PublishBody(request, match, *caller);
}

// RunHttpSession's dispatch of one read request, without the handlers' I/O.
void Dispatch(const http::Request& request) {
  for (const auto* origins : {&kExactOrigins, &kAnyOrigin}) {
    const auto origin = http::AllowedOrigin(request, *origins);
    if (!origin) continue;
    if (http::IsPreflight(request)) Serialise(http::PreflightResponse(request, *origin));
    http::Response response{beast_http::status::ok, request.version()};
    http::AddCorsHeaders(response, *origin);
    Require(http::CorsHeaderLines(*origin).find("\r\n\r\n") == std::string::npos,
            "an echoed origin cannot end the head");
    Serialise(std::move(response));
  }
  const http::RouteResult routed = http::Route(request.method(), request.target());
  if (const auto* redirect = std::get_if<http::Redirect>(&routed)) {
    http::Response response{beast_http::status::permanent_redirect, request.version()};
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    response.set(beast_http::field::location, redirect->location);
    Serialise(std::move(response));
    Require(
        !std::holds_alternative<http::Redirect>(http::Route(request.method(), redirect->location)),
        "a redirect's location is not redirected again");
  } else if (std::holds_alternative<http::NotFound>(routed)) {
    Answer(request, {herald::ErrorCode::kNotFound, "Not found.", {}, {}});
  } else if (std::holds_alternative<http::BadTarget>(routed)) {
    Answer(request, {herald::ErrorCode::kBadRequest, "Malformed request target.", {}, {}});
  } else if (const auto* not_allowed = std::get_if<http::MethodNotAllowed>(&routed)) {
    http::Response response = http::ErrorResponse(
        request, {herald::ErrorCode::kMethodNotAllowed, "Method not allowed.", {}, {}}, kNow);
    response.set(beast_http::field::allow, not_allowed->allow);
    Serialise(std::move(response));
  } else if (const auto* match = std::get_if<http::RouteMatch>(&routed)) {
    Require(match->path_id.size() < request.target().size() &&
                match->query.size() < request.target().size(),
            "a match's path id and query come from the target");
    if (http::IsStreamRoute(match->route)) StreamParameters(request, *match);
    Authenticated(request, *match);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static boost::asio::io_context io;
  beast::test::stream stream(io, herald::fuzz::AsText(data, size));
  stream.close_remote();  // the peer sent these bytes, then closed its side
  beast::flat_buffer buffer;
  for (int i = 0; i < kMaxRequestsPerConnection; ++i) {
    Parser parser;
    parser.body_limit(kOptions.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(kOptions.max_header_bytes));
    const boost::system::error_code ec = ReadRequest(stream, buffer, parser);
    // The peer closed between requests: the session ends without an answer.
    if (ec == beast_http::error::end_of_stream || ec == boost::asio::error::eof) return 0;
    if (ec) {
      // The session answers what it could read of a malformed request once, and closes.
      http::Request head = parser.get();
      head.keep_alive(false);
      herald::Error error{herald::ErrorCode::kBadRequest, "Malformed HTTP request.", {}, {}};
      if (ec == beast_http::error::body_limit) {
        error = {herald::ErrorCode::kPayloadTooLarge, "The body is too large.", {}, {}};
      } else if (ec == beast_http::error::header_limit) {
        error = {herald::ErrorCode::kHeadersTooLarge, "The head is too large.", {}, {}};
      }
      Answer(head, error);
      return 0;
    }
    const http::Request request = parser.release();
    Dispatch(request);
    if (!request.keep_alive()) return 0;
  }
  return 0;
}
