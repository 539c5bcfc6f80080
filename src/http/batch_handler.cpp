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
  if (!protocol) return Invalid("protocol", R"(protocol must be "agui", "a2a" or "system")");
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

Result<std::vector<Result<boost::json::value>>> ParseItems(const Request& request,
                                                           std::vector<NumberTexts>& numbers) {
  std::vector<Result<boost::json::value>> items;
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
  if (!parsed) {
    Error error = parsed.error();
    if (error.code == ErrorCode::kUnsupportedMediaType) {
      error.message = "Content-Type must be application/json or application/x-ndjson.";
    }
    return error;
  }
  auto* array = parsed->if_array();
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
  if (!caller) co_return ErrorResponse(request, caller.error(), now);
  const auto& claims = *caller;

  auto idempotency = IdempotencyOf(request, claims, "/api/v1/events");
  if (!idempotency) {
    co_return ErrorResponse(request, idempotency.error(), now);
  }
  std::vector<NumberTexts> numbers;
  auto parsed = ParseItems(request, numbers);
  if (!parsed) co_return ErrorResponse(request, parsed.error(), now);
  auto& items = *parsed;

  // Validate every item; the valid ones go to the store together.
  std::vector<boost::json::object> results(items.size());
  std::vector<EventDraft> drafts;
  std::vector<std::size_t> draft_index;
  for (std::size_t i = 0; i < items.size(); ++i) {
    hub::DraftResult draft =
        items[i].has_error() ? hub::DraftResult(items[i].error())
                             : DraftFromItem(*items[i], claims, now, services->options.validation);
    if (!draft) {
      results[i] = ErrorItem(draft.error());
    } else {
      numbers[i].Restore(draft->json);
      drafts.push_back(*std::move(draft));
      draft_index.push_back(i);
    }
  }
  hub::PublishOutcome outcome;
  std::size_t accepted = 0;
  if (!drafts.empty()) {
    outcome =
        co_await Publish(services->hub.publisher(), std::move(drafts), *std::move(idempotency));
    if (!outcome) co_return ErrorResponse(request, outcome.error(), services->Now());
    for (std::size_t k = 0; k < outcome->events.size() && k < draft_index.size(); ++k) {
      boost::json::object& result = results[draft_index[k]];
      const Result<hub::PublishedEvent>& event = outcome->events[k];
      if (!event) {
        result = ErrorItem(event.error());
        continue;
      }
      ++accepted;
      result["status"] = 200;
      result["event_id"] = FormatEventId(event->id);
      result["connection_count"] = event->connection_count;
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
