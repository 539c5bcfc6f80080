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

#include "http/access_log.h"
#include "http/authenticate.h"
#include "http/cors.h"
#include "http/handlers.h"
#include "http/offload.h"
#include "http/request_id.h"
#include "http/sse_session.h"

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

Error TooManyConnections() {
  return Error{ErrorCode::kRateLimited,
               "Too many open connections for this user on this stream.",
               {},
               std::chrono::seconds(5)};
}

// Authenticates and admits a stream request (spec §1.1, §2, §6).
Result<StreamRequest> PrepareStream(const Request& request, const RouteMatch& match,
                                    Requester& requester, Services& services) {
  auto caller = AuthenticateAndCharge(request, match.query, services,
                                      hub::RateLimitKind::kStreamOpen, requester);
  if (!caller) return caller.error();
  if (services.draining.load()) {
    return Error{
        ErrorCode::kServiceUnavailable, "The hub is shutting down.", {}, std::chrono::seconds(1)};
  }

  StreamRequest stream;
  stream.stream = StreamOf(match.route);
  stream.claims = *std::move(caller);
  if (auto context = QueryParam(match.query, "context_id")) {
    if (!IsValidContextId(*context)) {
      return Error{ErrorCode::kBadRequest, "Malformed context_id.", {}, {}};
    }
    stream.context = ContextId(std::move(*context));
  }
  // Last-Event-ID wins over ?last_event_id=; a malformed value is treated as absent.
  const auto header = request.find("Last-Event-ID");
  if (header != request.end()) {
    stream.cursor = ParseEventId(header->value());
  } else if (auto cursor = QueryParam(match.query, "last_event_id")) {
    stream.cursor = ParseEventId(*cursor);
  }
  stream.chunked = request.version() >= 11;
  stream.lease = services.hub.limiter().TryAcquire(stream.claims.user, stream.stream);
  if (!stream.lease) {
    services.hub.metrics().ConnectionRejectedByCap(stream.stream);
    return TooManyConnections();
  }
  return stream;
}

// Cluster mode (spec §6): the cap counts the user's streams on every live node, checked on a
// store thread. A refused stream gives its local slot back.
asio::awaitable<Result<StreamRequest>> AdmitAcrossCluster(StreamRequest stream,
                                                          Services* services) {
  hub::ClusterPresence* cluster = services->hub.cluster();
  if (cluster == nullptr) co_return stream;
  // Captures pointers only: GCC 12 miscompiles coroutine parameters (here Offload's `fn`) that
  // own memory, so the request stays in this frame and the work reads it from there.
  const StreamRequest* request = &stream;
  auto slot = co_await Offload(services->hub.store_pool(), [cluster, request] {
    return cluster->Admit(request->claims.user, request->stream);
  });
  if (!slot) {
    services->hub.metrics().ConnectionRejectedByCap(stream.stream);
    co_return TooManyConnections();
  }
  stream.cluster_slot.emplace(std::move(*slot));
  co_return stream;
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

// Non-stream bodies larger than this are written with a zero linger (RunHttpSession).
constexpr std::size_t kLingerBytes = 64 * 1024;

// A response whose body would take the requester past its share of the bytes-in-flight budget
// (429: its own doing), or the process past the whole budget (503: the hub's load).
Error OverBudget(hub::ByteBudget::Refusal refusal) {
  if (refusal == hub::ByteBudget::Refusal::kPerKey) {
    return Error{ErrorCode::kRateLimited,
                 "Too many response bytes in flight for this user; retry later.",
                 {},
                 std::chrono::seconds(1)};
  }
  return Error{ErrorCode::kServiceUnavailable,
               "The hub is writing too many responses; retry shortly.",
               {},
               std::chrono::seconds(1)};
}

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

// One HTTP/1.1 connection: requests in a loop until it closes or becomes a stream.
asio::awaitable<void> RunHttpSession(tcp::socket socket, hub::Shard* shard, Services* services) {
  const std::string peer = PeerAddress(socket);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const HttpOptions& options = services->options;
  for (;;) {
    beast_http::request_parser<beast_http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    stream.expires_after(options.request_timeout);
    const boost::system::error_code read_ec = co_await ReadRequest(stream, buffer, parser);
    const auto started = std::chrono::steady_clock::now();
    if (read_ec == beast_http::error::end_of_stream || read_ec == asio::error::eof ||
        read_ec == beast::error::timeout || read_ec == asio::error::connection_reset ||
        read_ec == asio::error::operation_aborted) {
      break;
    }
    if (read_ec) {
      // A request we cannot read to the end: answer once and close.
      Request head = parser.get();
      head.keep_alive(false);
      Error error{ErrorCode::kBadRequest, "Malformed HTTP request.", {}, {}};
      if (read_ec == beast_http::error::body_limit) {
        error = {ErrorCode::kPayloadTooLarge,
                 "The body exceeds " + std::to_string(options.max_body_bytes) + " bytes.",
                 {},
                 {}};
      } else if (read_ec == beast_http::error::header_limit) {
        error = {ErrorCode::kHeadersTooLarge,
                 "The request line and headers exceed " + std::to_string(options.max_header_bytes) +
                     " bytes.",
                 {},
                 {}};
      }
      Response response = ErrorResponse(head, error, services->Now());
      response.keep_alive(false);
      const std::string request_id = RequestIdOf(head);
      response.set(kRequestIdHeader, request_id);
      stream.expires_after(options.response_write_timeout);
      co_await beast_http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
      LogAccess(options, head, response.result_int(), started, request_id, std::nullopt,
                response.body().size(), false);
      break;
    }
    stream.expires_never();
    Request request = parser.release();
    const bool keep_alive = request.keep_alive();
    const std::string request_id = RequestIdOf(request);
    Requester requester{peer, {}};

    Response response;
    const auto cors_origin = AllowedOrigin(request, options.cors_origins);
    const RouteResult routed = Route(request.method(), request.target());
    if (cors_origin && IsPreflight(request)) {
      response = PreflightResponse(request, *cors_origin);
    } else if (const auto* redirect = std::get_if<Redirect>(&routed)) {
      response = Plain(request, beast_http::status::permanent_redirect);
      response.set(beast_http::field::location, redirect->location);
    } else if (std::holds_alternative<NotFound>(routed)) {
      response =
          ErrorResponse(request, {ErrorCode::kNotFound, "Not found.", {}, {}}, services->Now());
    } else if (std::holds_alternative<BadTarget>(routed)) {
      response = ErrorResponse(
          request, {ErrorCode::kBadRequest, "Malformed request target.", {}, {}}, services->Now());
    } else if (const auto* not_allowed = std::get_if<MethodNotAllowed>(&routed)) {
      response = ErrorResponse(
          request, {ErrorCode::kMethodNotAllowed, "Method not allowed.", {}, {}}, services->Now());
      response.set(beast_http::field::allow, not_allowed->allow);
    } else {
      const auto& match = std::get<RouteMatch>(routed);
      if (IsStreamRoute(match.route)) {
        auto prepared = PrepareStream(request, match, requester, *services);
        if (prepared) prepared = co_await AdmitAcrossCluster(*std::move(prepared), services);
        if (StreamRequest* ready = prepared ? &*prepared : nullptr) {
          if (cors_origin) ready->extra_head = CorsHeaderLines(*cors_origin);
          ready->extra_head += fmt::format("{}: {}\r\n", kRequestIdHeader, request_id);
          LogAccess(options, request, 200, started, request_id, requester.user, 0, true);
          // The connection becomes a stream: hand the socket over and let this frame go.
          asio::co_spawn(stream.get_executor(),
                         RunSseSession(stream.release_socket(), shard, std::move(*ready), services),
                         LogEscapedException);
          co_return;
        }
        response = ErrorResponse(request, prepared.error(), services->Now());
      } else {
        response = co_await HandleRequest(request, match, &requester, services);
      }
    }
    // A HEAD answer is the GET answer's head, Content-Length included, without its body (RFC 9110
    // §9.3.2): bytes after it would be read as the next answer on a kept-alive connection.
    if (request.method() == beast_http::verb::head) response.body().clear();
    // The body counts against the bytes-in-flight budget from here until it is written or the
    // write fails (the lease lives to the end of this iteration).
    auto charge =
        services->response_budget.TryAcquire(requester.BudgetKey(), response.body().size());
    if (const auto* refusal = std::get_if<hub::ByteBudget::Refusal>(&charge)) {
      services->hub.metrics().ResponseRefused(*refusal);
      response = ErrorResponse(request, OverBudget(*refusal), services->Now());
    }
    if (cors_origin) AddCorsHeaders(response, *cors_origin);
    response.set(kRequestIdHeader, request_id);
    response.keep_alive(keep_alive && !services->draining.load());
    // A peer that does not take the response within the timeout loses the connection. For a large
    // body, a zero linger during the write makes the close the timeout causes abortive (RST): the
    // kernel drops its copy at once instead of keeping it for a peer that is not reading, and the
    // client could not use the cut body anyway; reset once written, so that later closes are
    // orderly. A small body (every publish answer) is not worth the two system calls: at most
    // kLingerBytes of it can stay with the kernel.
    const bool linger = response.body().size() > kLingerBytes;
    boost::system::error_code linger_ec;
    if (linger) stream.socket().set_option(asio::socket_base::linger(true, 0), linger_ec);
    stream.expires_after(options.response_write_timeout);
    auto [write_ec, written] =
        co_await beast_http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
    if (write_ec == beast::error::timeout) {
      services->hub.metrics().ResponseWriteTimedOut();
      spdlog::debug("response to {} not taken within {} ms: connection closed", peer,
                    options.response_write_timeout.count());
      co_return;  // the stream closed the socket
    }
    if (write_ec) break;
    LogAccess(options, request, response.result_int(), started, request_id, requester.user,
              response.body().size(), false);
    if (linger) stream.socket().set_option(asio::socket_base::linger(false, 0), linger_ec);
    if (!response.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
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
