#include "http/batch_handler.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "http/authenticate.h"
#include "http/publish_client.h"
#include "http/publish_handler.h"
#include "hub/publication.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

Error Invalid(std::string field, std::string message) {
  return Error{ErrorCode::kValidationError, std::move(message), std::move(field), {}};
}

boost::json::object ErrorItem(const Error& error) {
  boost::json::object item;
  item["status"] = HttpStatus(error.code);
  item["code"] = CodeName(error.code);
  item["message"] = error.message;
  if (!error.field.empty()) item["field"] = error.field;
  return item;
}

}  // namespace

hub::DraftResult DraftFromItem(const boost::json::value& value, const auth::Claims& caller,
                               std::chrono::system_clock::time_point now,
                               ValidationMode validation) {
  const auto* item = value.if_object();
  if (item == nullptr) return Invalid("item", "each item must be a JSON object");
  const auto* user = item->if_contains("user_id");
  if (user == nullptr) return Invalid("user_id", "user_id is required");
  if (!user->is_string() || !IsValidClientId(user->get_string())) {
    return Invalid("user_id", "user_id must be a string of 1-256 bytes without control characters");
  }
  const auto* protocol_value = item->if_contains("protocol");
  const auto protocol = protocol_value != nullptr && protocol_value->is_string()
                            ? ParseProtocol(protocol_value->get_string())
                            : std::nullopt;
  if (!protocol) return Invalid("protocol", "protocol must be \"agui\", \"a2a\" or \"system\"");
  const auto* event = item->if_contains("event");
  if (event == nullptr || !event->is_object()) return Invalid("event", "event must be an object");
  std::optional<ContextId> context;
  if (const auto* context_value = item->if_contains("context_id")) {
    if (!context_value->is_string() || !IsValidContextId(context_value->get_string())) {
      return Invalid("context_id",
                     "context_id must be a string of 1-256 bytes without control characters, '/' "
                     "or '\\', and not a placeholder such as \"undefined\"");
    }
    context = ContextId(std::string(context_value->get_string()));
  }
  return hub::FinishDraft(*protocol, UserId(std::string(user->get_string())), std::move(context),
                          event->get_object(), caller, now, validation, "event.");
}

std::variant<std::vector<std::variant<boost::json::value, Error>>, Error> ParseItems(
    const Request& request, std::vector<NumberTexts>& numbers) {
  std::vector<std::variant<boost::json::value, Error>> items;
  const std::string media_type = MediaType(request);
  if (media_type == "application/x-ndjson") {
    std::string_view body = request.body();
    while (!body.empty()) {
      const auto newline = body.find('\n');
      std::string_view line = body.substr(0, newline);
      body = newline == std::string_view::npos ? std::string_view{} : body.substr(newline + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      if (items.size() == kMaxBatchItems) {
        return Error{ErrorCode::kPayloadTooLarge, "A batch holds at most 10000 items.", {}, {}};
      }
      items.push_back(ParseJson(line, &numbers.emplace_back()));
    }
    return items;
  }
  auto parsed = ParseJsonBody(request);
  if (auto* error = std::get_if<Error>(&parsed)) {
    if (error->code == ErrorCode::kUnsupportedMediaType) {
      error->message = "Content-Type must be application/json or application/x-ndjson.";
    }
    return std::move(*error);
  }
  auto* array = std::get<boost::json::value>(parsed).if_array();
  if (array == nullptr) return Invalid("body", "The body must be a JSON array of items.");
  if (array->size() > kMaxBatchItems) {
    return Error{ErrorCode::kPayloadTooLarge, "A batch holds at most 10000 items.", {}, {}};
  }
  numbers = NumberTexts::OfElements(request.body(), *array, kMaxJsonDepth);
  for (auto& value : *array) items.emplace_back(std::move(value));
  return items;
}

asio::awaitable<Response> HandleBatch(const Request& request, const RouteMatch& match,
                                      Requester* requester, Services* services) {
  const auto now = services->Now();
  auto caller = AuthenticateAndCharge(request, match.query, *services, hub::RateLimitKind::kPublish,
                                      *requester);
  if (auto* error = std::get_if<Error>(&caller)) co_return ErrorResponse(request, *error, now);
  const auto& claims = std::get<auth::Claims>(caller);

  auto idempotency = IdempotencyOf(request, claims, "/api/v1/events");
  if (auto* error = std::get_if<Error>(&idempotency)) {
    co_return ErrorResponse(request, *error, now);
  }
  std::vector<NumberTexts> numbers;
  auto parsed = ParseItems(request, numbers);
  if (auto* error = std::get_if<Error>(&parsed)) co_return ErrorResponse(request, *error, now);
  auto& items = std::get<0>(parsed);

  // Validate every item; the valid ones go to the store together.
  std::vector<boost::json::object> results(items.size());
  std::vector<EventDraft> drafts;
  std::vector<std::size_t> draft_index;
  for (std::size_t i = 0; i < items.size(); ++i) {
    hub::DraftResult draft = std::holds_alternative<Error>(items[i])
                                 ? hub::DraftResult(std::get<Error>(items[i]))
                                 : DraftFromItem(std::get<boost::json::value>(items[i]), claims,
                                                 now, services->options.validation);
    if (auto* error = std::get_if<Error>(&draft)) {
      results[i] = ErrorItem(*error);
    } else {
      numbers[i].Restore(std::get<EventDraft>(draft).json);
      drafts.push_back(std::get<EventDraft>(std::move(draft)));
      draft_index.push_back(i);
    }
  }
  hub::PublishOutcome outcome;
  std::size_t accepted = 0;
  if (!drafts.empty()) {
    outcome =
        co_await Publish(services->hub.publisher(), std::move(drafts),
                         std::get<std::optional<hub::IdempotencyKey>>(std::move(idempotency)));
    if (outcome.error) co_return ErrorResponse(request, *outcome.error, services->Now());
    for (std::size_t k = 0; k < outcome.events.size() && k < draft_index.size(); ++k) {
      boost::json::object& result = results[draft_index[k]];
      if (outcome.events[k].error) {
        result = ErrorItem(*outcome.events[k].error);
        continue;
      }
      ++accepted;
      result["status"] = 200;
      result["event_id"] = FormatEventId(outcome.events[k].id);
      result["connection_count"] = outcome.events[k].connection_count;
    }
  }
  boost::json::object body;
  boost::json::array result_array;
  result_array.reserve(results.size());
  for (auto& r : results) result_array.emplace_back(std::move(r));
  body["results"] = std::move(result_array);
  body["accepted"] = accepted;
  body["rejected"] = items.size() - accepted;
  Response reply = JsonResponse(request, beast_http::status::ok, boost::json::serialize(body));
  MarkReplayed(reply, outcome);
  co_return reply;
}

}  // namespace herald::http
