#include "http/publish_handler.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/event_validation.h"
#include "http/authenticate.h"
#include "hub/publication.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

bool IsJsonContentType(std::string_view value) {
  const auto semicolon = value.find(';');
  std::string type(value.substr(0, semicolon));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (char& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return type == "application/json";
}

asio::awaitable<hub::PublishOutcome> Publish(hub::Publisher& publisher,
                                             std::vector<EventDraft> drafts) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(hub::PublishOutcome)>(
      [&publisher](auto handler, std::vector<EventDraft> drafts) {
        // The outcome arrives on the writer thread; resume this coroutine on its own shard.
        auto executor = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        publisher.Submit(std::move(drafts), [executor, shared](hub::PublishOutcome outcome) {
          asio::post(executor, [shared, outcome = std::move(outcome)]() mutable {
            std::move (*shared)(std::move(outcome));
          });
        });
      },
      asio::use_awaitable, std::move(drafts));
}

}  // namespace

std::variant<boost::json::value, ApiError> ParseJsonBody(const Request& request) {
  const auto content_type = request.find(beast_http::field::content_type);
  if (content_type == request.end() || !IsJsonContentType(content_type->value())) {
    return ApiError{ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json.",
                    {}, {}};
  }
  boost::json::parse_options parse_options;
  parse_options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(request.body(), ec, {}, parse_options);
  if (ec == boost::json::error::too_deep) {
    return ApiError{ErrorCode::kValidationError, "The body is nested more than 64 levels deep.",
                    "body", {}};
  }
  if (ec) return ApiError{ErrorCode::kBadRequest, "The body is not valid JSON.", {}, {}};
  return value;
}

asio::awaitable<Response> HandleWebhook(const Request& request, const RouteMatch& match,
                                        Services* services) {
  const auto now = services->Now();
  auto caller = Authenticate(request, match.query, services->verifier,
                             services->options.allow_query_token, now);
  if (auto* error = std::get_if<ApiError>(&caller)) co_return ErrorResponse(request, *error, now);

  auto parsed = ParseJsonBody(request);
  if (auto* error = std::get_if<ApiError>(&parsed)) co_return ErrorResponse(request, *error, now);
  auto& body = std::get<boost::json::value>(parsed);
  if (!body.is_object()) {
    co_return ErrorResponse(
        request, {ErrorCode::kValidationError, "The body must be a JSON object.", "body", {}}, now);
  }

  const Protocol protocol =
      match.route == RouteId::kWebhookAgui ? Protocol::kAgui : Protocol::kA2a;
  auto draft = hub::DraftFromWebhook(protocol, std::move(body.get_object()),
                                     std::get<auth::Claims>(caller), now);
  if (auto* error = std::get_if<ApiError>(&draft)) co_return ErrorResponse(request, *error, now);

  std::vector<EventDraft> drafts;
  drafts.push_back(std::get<EventDraft>(std::move(draft)));
  const hub::PublishOutcome outcome =
      co_await Publish(services->hub.publisher(), std::move(drafts));
  if (outcome.error) co_return ErrorResponse(request, *outcome.error, services->Now());

  const hub::PublishedEvent& published = outcome.events.front();
  boost::json::object response;
  response["status"] = "broadcasted";
  response["connection_count"] = published.connection_count;
  response["event_id"] = FormatEventId(published.id);
  co_return JsonResponse(request, beast_http::status::ok, boost::json::serialize(response));
}

}  // namespace herald::http
