#include "http/publish_handler.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/event_validation.h"
#include "http/authenticate.h"
#include "http/publish_client.h"
#include "hub/publication.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

std::string MediaType(const Request& request) {
  const auto content_type = request.find(beast_http::field::content_type);
  if (content_type == request.end()) return {};
  const std::string_view value = content_type->value();
  std::string type(value.substr(0, value.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  for (char& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return type;
}

std::variant<boost::json::value, ApiError> ParseJsonBody(const Request& request) {
  if (MediaType(request) != "application/json") {
    return ApiError{ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json.",
                    {}, {}};
  }
  return ParseJson(request.body());
}

std::variant<boost::json::value, ApiError> ParseJson(std::string_view text) {
  boost::json::parse_options parse_options;
  parse_options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec, {}, parse_options);
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
