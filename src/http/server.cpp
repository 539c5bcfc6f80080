#include "http/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <tuple>

#include "http/access_log.h"
#include "http/cors.h"
#include "http/handlers.h"
#include "http/request_id.h"
#include "http/sse_session.h"
#include "http/stream_admission.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;

namespace {

// Completion for detached coroutines: an escaped exception is a bug; log it, never swallow it.
void LogEscapedException(const std::exception_ptr& error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("session ended by an unexpected exception: {}", e.what());
  }
}

// The client's address, the key of its unauthenticated rate budget ("" if unknown).
std::string PeerAddress(const tcp::socket& socket) {
  boost::system::error_code ec;
  const tcp::endpoint endpoint = socket.remote_endpoint(ec);
  if (ec) return {};
  const asio::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

// Non-stream bodies larger than this are written with a zero linger (WriteAnswer).
constexpr std::size_t kLingerBytes = 64 * 1024;

// One line of the access log (http/access_log.h), when there is one.
void LogAccess(const HttpOptions& options, const Request& request, unsigned status,
               std::chrono::steady_clock::time_point started, std::string_view request_id,
               const std::optional<UserId>& user, std::size_t body_bytes, bool stream) {
  if (!options.access_log) return;
  const std::string_view target = request.target();
  options.access_log->info(FormatAccess({.method = request.method_string(),
                                         .path = target.substr(0, target.find('?')),
                                         .status = status,
                                         .duration = std::chrono::steady_clock::now() - started,
                                         .request_id = request_id,
                                         .user = &user,
                                         .body_bytes = body_bytes,
                                         .stream = stream},
                                        options.access_log_json));
}

Response Plain(const Request& request, beast_http::status status) {
  Response response{status, request.version()};
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

// Reads one request: the head, then (after "100 Continue" when the client asked for it with
// `Expect: 100-continue` and its body is still to come) the body.
asio::awaitable<boost::system::error_code> ReadRequest(
    beast::tcp_stream& stream, beast::flat_buffer& buffer,
    beast_http::request_parser<beast_http::string_body>& parser) {
  auto [ec, n] = co_await beast_http::async_read_header(stream, buffer, parser,
                                                        asio::as_tuple(asio::use_awaitable));
  if (ec || parser.is_done()) co_return ec;
  const auto expect = parser.get().find(beast_http::field::expect);
  if (expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(kContinue),
                                                          asio::as_tuple(asio::use_awaitable));
    if (write_ec) co_return write_ec;
  }
  auto [body_ec, body_bytes] =
      co_await beast_http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  co_return body_ec;
}

// What one read of a request asks the socket for (RunHttpSession).
constexpr std::size_t kRequestReadSize = 4096;

// One HTTP/1.1 connection, living in RunHttpSession's frame. Each step below is awaited at once
// by its caller, whose frame outlives it, so the steps take the session, the request and the
// exchange by reference: no copies, and no coroutine parameters that own memory (which GCC 12
// mishandles: http/stream_admission.cpp).
struct HttpSession {
  std::string peer;  // PeerAddress
  beast::tcp_stream stream;
  beast::flat_buffer buffer;  // bytes read past one request belong to the next
  hub::Shard* shard;
  Services* services;
};

// One request being answered: what its steps share. Lives in AnswerRequest's frame.
struct Exchange {
  std::chrono::steady_clock::time_point started;  // when it was read, for the access log
  std::string request_id;
  std::optional<std::string> cors_origin;  // AllowedOrigin
  Requester requester;
};

// What the connection does after one request.
enum class Next : std::uint8_t {
  kNextRequest,  // kept alive: read the next one
  kClose,        // half-close (shutdown send) and end
  kLetGo,        // end without touching the socket: handed to a stream, or already closed
};

// Read outcomes that end the connection without an answer: the peer closed it or went quiet.
bool EndsSilently(const boost::system::error_code& read_ec) {
  return read_ec == beast_http::error::end_of_stream || read_ec == asio::error::eof ||
         read_ec == beast::error::timeout || read_ec == asio::error::connection_reset ||
         read_ec == asio::error::operation_aborted;
}

// Why a request could not be read to the end.
Error UnreadableError(const boost::system::error_code& read_ec, const HttpOptions& options) {
  if (read_ec == beast_http::error::body_limit) {
    return {ErrorCode::kPayloadTooLarge,
            "The body exceeds " + std::to_string(options.max_body_bytes) + " bytes.",
            {},
            {}};
  }
  if (read_ec == beast_http::error::header_limit) {
    return {ErrorCode::kHeadersTooLarge,
            "The request line and headers exceed " + std::to_string(options.max_header_bytes) +
                " bytes.",
            {},
            {}};
  }
  return {ErrorCode::kBadRequest, "Malformed HTTP request.", {}, {}};
}

// A request we cannot read to the end (`partial` is what was parsed of it): answered once; the
// connection closes after.
asio::awaitable<void> AnswerUnreadable(HttpSession& session, const Request& partial,
                                       boost::system::error_code read_ec,
                                       std::chrono::steady_clock::time_point started) {
  const HttpOptions& options = session.services->options;
  Request head = partial;
  head.keep_alive(false);
  Response response =
      ErrorResponse(head, UnreadableError(read_ec, options), session.services->Now());
  response.keep_alive(false);
  const std::string request_id = RequestIdOf(head);
  response.set(kRequestIdHeader, request_id);
  session.stream.expires_after(options.response_write_timeout);
  co_await beast_http::async_write(session.stream, response, asio::as_tuple(asio::use_awaitable));
  LogAccess(options, head, response.result_int(), started, request_id, std::nullopt,
            response.body().size(), false);
}

// The answer to a request no handler takes: a CORS preflight, a redirect, or a routing error;
// nullopt when the route matched.
std::optional<Response> AnswerUnrouted(const Request& request, const RouteResult& routed,
                                       const Exchange& exchange, const Services& services) {
  if (exchange.cors_origin && IsPreflight(request)) {
    return PreflightResponse(request, *exchange.cors_origin);
  }
  if (const auto* redirect = std::get_if<Redirect>(&routed)) {
    Response response = Plain(request, beast_http::status::permanent_redirect);
    response.set(beast_http::field::location, redirect->location);
    return response;
  }
  if (std::holds_alternative<NotFound>(routed)) {
    return ErrorResponse(request, {ErrorCode::kNotFound, "Not found.", {}, {}}, services.Now());
  }
  if (std::holds_alternative<BadTarget>(routed)) {
    return ErrorResponse(request, {ErrorCode::kBadRequest, "Malformed request target.", {}, {}},
                         services.Now());
  }
  if (const auto* not_allowed = std::get_if<MethodNotAllowed>(&routed)) {
    Response response = ErrorResponse(
        request, {ErrorCode::kMethodNotAllowed, "Method not allowed.", {}, {}}, services.Now());
    response.set(beast_http::field::allow, not_allowed->allow);
    return response;
  }
  return std::nullopt;
}

// A stream request: admitted, the connection becomes the stream (the socket goes to an SSE
// session and nullopt comes back); refused, the error answer comes back.
asio::awaitable<std::optional<Response>> OpenStream(HttpSession& session, const Request& request,
                                                    const RouteMatch& match, Exchange& exchange) {
  Services& services = *session.services;
  auto prepared = PrepareStream(request, match, exchange.requester, services);
  if (prepared) prepared = co_await AdmitAcrossCluster(*std::move(prepared), &services);
  if (!prepared) co_return ErrorResponse(request, prepared.error(), services.Now());
  StreamRequest& ready = *prepared;
  if (exchange.cors_origin) ready.extra_head = CorsHeaderLines(*exchange.cors_origin);
  ready.extra_head += fmt::format("{}: {}\r\n", kRequestIdHeader, exchange.request_id);
  LogAccess(services.options, request, 200, exchange.started, exchange.request_id,
            exchange.requester.user, 0, true);
  // The connection becomes a stream: hand the socket over and let the session's frame go.
  asio::co_spawn(
      session.stream.get_executor(),
      RunSseSession(session.stream.release_socket(), session.shard, std::move(ready), &services),
      LogEscapedException);
  co_return std::nullopt;
}

// The answer to a request that was read whole; nullopt when the connection became a stream.
asio::awaitable<std::optional<Response>> Respond(HttpSession& session, const Request& request,
                                                 Exchange& exchange) {
  const RouteResult routed = Route(request.method(), request.target());
  if (auto answer = AnswerUnrouted(request, routed, exchange, *session.services)) {
    co_return std::move(answer);
  }
  const auto& match = std::get<RouteMatch>(routed);
  if (IsStreamRoute(match.route)) co_return co_await OpenStream(session, request, match, exchange);
  co_return co_await HandleRequest(request, match, &exchange.requester, session.services);
}

// Writes an answer: at once what the non-blocking socket takes (most answers: no wait, no trip
// through the shard's queue); the rest the peer must take within the response write timeout or
// lose the connection. For a large body, a zero linger during that wait makes the timeout's close
// abortive (RST): the kernel drops its copy at once instead of keeping it for a peer that is not
// reading, and the client could not use the cut body anyway; reset once written, so that later
// closes are orderly. A small body (every publish answer) is not worth the two system calls.
asio::awaitable<Next> WriteAnswer(HttpSession& session, const Request& request, Response& response,
                                  const Exchange& exchange) {
  const HttpOptions& options = session.services->options;
  beast_http::response_serializer<beast_http::string_body> serializer(response);
  boost::system::error_code write_ec;
  while (!write_ec && !serializer.is_done()) {
    beast_http::write_some(session.stream.socket(), serializer, write_ec);
  }
  const bool waits = write_ec == asio::error::would_block;
  const bool linger = waits && response.body().size() > kLingerBytes;
  boost::system::error_code linger_ec;
  if (linger) session.stream.socket().set_option(asio::socket_base::linger(true, 0), linger_ec);
  if (waits) {
    session.stream.expires_after(options.response_write_timeout);
    std::tie(write_ec, std::ignore) = co_await beast_http::async_write(
        session.stream, serializer, asio::as_tuple(asio::use_awaitable));
  }
  if (write_ec == beast::error::timeout) {
    session.services->hub.metrics().ResponseWriteTimedOut();
    spdlog::debug("response to {} not taken within {} ms: connection closed", session.peer,
                  options.response_write_timeout.count());
    co_return Next::kLetGo;  // the stream closed the socket
  }
  if (write_ec) co_return Next::kClose;
  LogAccess(options, request, response.result_int(), exchange.started, exchange.request_id,
            exchange.requester.user, response.body().size(), false);
  if (linger) session.stream.socket().set_option(asio::socket_base::linger(false, 0), linger_ec);
  co_return response.keep_alive() ? Next::kNextRequest : Next::kClose;
}

// Answers a request that was read whole, or hands the connection to a stream.
asio::awaitable<Next> AnswerRequest(HttpSession& session, const Request& request,
                                    std::chrono::steady_clock::time_point started) {
  Services& services = *session.services;
  const bool keep_alive = request.keep_alive();
  Exchange exchange{.started = started,
                    .request_id = RequestIdOf(request),
                    .cors_origin = AllowedOrigin(request, services.options.cors_origins),
                    .requester = {session.peer, {}}};
  std::optional<Response> response = co_await Respond(session, request, exchange);
  if (!response) co_return Next::kLetGo;
  // A HEAD answer is the GET answer's head, Content-Length included, without its body (RFC 9110
  // §9.3.2): bytes after it would be read as the next answer on a kept-alive connection.
  if (request.method() == beast_http::verb::head) response->body().clear();
  // The body counts against the bytes-in-flight budget from here until it is written or the
  // write fails (the lease lives to the end of this function).
  auto charge =
      services.response_budget.TryAcquire(exchange.requester.BudgetKey(), response->body().size());
  if (const auto* refusal = std::get_if<hub::ByteBudget::Refusal>(&charge)) {
    services.hub.metrics().ResponseRefused(*refusal);
    response = ErrorResponse(request, OverBudget(*refusal), services.Now());
  }
  if (exchange.cors_origin) AddCorsHeaders(*response, *exchange.cors_origin);
  response->set(kRequestIdHeader, exchange.request_id);
  response->keep_alive(keep_alive && !services.draining.load());
  co_return co_await WriteAnswer(session, request, *response, exchange);
}

// Reads one request and answers it.
asio::awaitable<Next> ServeOneRequest(HttpSession& session) {
  const HttpOptions& options = session.services->options;
  beast_http::request_parser<beast_http::string_body> parser;
  parser.body_limit(options.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  session.stream.expires_after(options.request_timeout);
  const boost::system::error_code read_ec =
      co_await ReadRequest(session.stream, session.buffer, parser);
  const auto started = std::chrono::steady_clock::now();
  if (EndsSilently(read_ec)) co_return Next::kClose;
  if (read_ec) {
    co_await AnswerUnreadable(session, parser.get(), read_ec, started);
    co_return Next::kClose;
  }
  session.stream.expires_never();
  const Request request = parser.release();
  co_return co_await AnswerRequest(session, request, started);
}

// One HTTP/1.1 connection: requests in a loop until it closes or becomes a stream.
asio::awaitable<void> RunHttpSession(tcp::socket socket, hub::Shard* shard, Services* services) {
  std::string peer = PeerAddress(socket);
  HttpSession session{.peer = std::move(peer),
                      .stream = beast::tcp_stream(std::move(socket)),
                      .buffer = {},
                      .shard = shard,
                      .services = services};
  // Beast reads max(512, the buffer's free capacity) bytes at a time, and the buffer is empty
  // again after each request: without room reserved, every request over 512 bytes (a publish
  // with its bearer token, typically 500–1 500) costs two reads. Freed when the connection ends
  // or becomes a stream.
  session.buffer.reserve(kRequestReadSize);
  // Non-blocking for the answer written at once (WriteAnswer); Asio's waits are unaffected.
  boost::system::error_code ignored;
  session.stream.socket().non_blocking(true, ignored);
  Next next = Next::kNextRequest;
  while (next == Next::kNextRequest) next = co_await ServeOneRequest(session);
  if (next == Next::kLetGo) co_return;
  session.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Accept(std::shared_ptr<tcp::acceptor> acceptor, hub::ShardSet* shards,
                             Services* services) {
  for (;;) {
    hub::Shard& shard = shards->Next();
    auto [ec, socket] =
        co_await acceptor->async_accept(shard.io_context(), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) break;
    if (ec) {
      // Out of file descriptors and the like: log, back off briefly, keep accepting.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    asio::co_spawn(shard.io_context(), RunHttpSession(std::move(socket), &shard, services),
                   LogEscapedException);
  }
}

}  // namespace

Server::Server(Services& services, const tcp::endpoint& endpoint)
    : services_(services),
      shards_(services.hub.shards()),
      acceptor_(std::make_shared<tcp::acceptor>(shards_[0].io_context())) {
  acceptor_->open(endpoint.protocol());
  acceptor_->set_option(asio::socket_base::reuse_address(true));
  acceptor_->bind(endpoint);
  acceptor_->listen(asio::socket_base::max_listen_connections);
}

tcp::endpoint Server::local_endpoint() const { return acceptor_->local_endpoint(); }

void Server::Start() {
  asio::co_spawn(shards_[0].io_context(), Accept(acceptor_, &shards_, &services_),
                 LogEscapedException);
}

void Server::StopAccepting() {
  asio::post(shards_[0].io_context(), [acceptor = acceptor_] {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  });
}

}  // namespace herald::http
