#include "http/batch_handler.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <iterator>
#include <memory>
#include <variant>

#include "core/event_id.h"
#include "http/authenticate.h"
#include "http/publish_client.h"
#include "http/publish_handler.h"
#include "hub/publication.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

boost::json::object ErrorItem(const Error& error) {
  boost::json::object item;
  item["status"] = HttpStatus(error.code);
  item["code"] = CodeName(error.code);
  item["message"] = error.message;
  if (!error.field.empty()) item["field"] = error.field;
  return item;
}

}  // namespace

hub::DraftResult DraftFromItem(boost::json::value& value, const auth::Claims& caller,
                               std::chrono::system_clock::time_point now,
                               ValidationMode validation) {
  auto* item = value.if_object();
  if (item == nullptr) return InvalidField("item", "each item must be a JSON object");
  const auto* user = item->if_contains("user_id");
  if (user == nullptr) return InvalidField("user_id", "user_id is required");
  if (!user->is_string() || !IsValidClientId(user->get_string())) {
    return InvalidField("user_id",
                        "user_id must be a string of 1-256 bytes without control characters");
  }
  auto envelope = hub::EnvelopeOf(*item);
  if (!envelope) return envelope.error();
  std::optional<ContextId> context;
  if (const auto* context_value = item->if_contains("context_id")) {
    if (!context_value->is_string() || !IsValidContextId(context_value->get_string())) {
      return InvalidField(
          "context_id",
          "context_id must be a string of 1-256 bytes without control characters, '/' "
          "or '\\', and not a placeholder such as \"undefined\"");
    }
    context = ContextId(std::string(context_value->get_string()));
  }
  return hub::FinishDraft(envelope->protocol, UserId(std::string(user->get_string())),
                          std::move(context), std::move(*envelope->event), caller, now, validation,
                          "event.");
}

Result<std::vector<Result<boost::json::value>>> ParseItems(const Request& request,
                                                           std::vector<NumberTexts>& numbers,
                                                           boost::json::storage_ptr storage) {
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
      items.push_back(ParseJson(line, &numbers.emplace_back(), storage));
    }
    return items;
  }
  auto parsed = ParseJsonBody(request, nullptr, std::move(storage));
  if (!parsed) {
    Error error = parsed.error();
    if (error.code == ErrorCode::kUnsupportedMediaType) {
      error.message = "Content-Type must be application/json or application/x-ndjson.";
    }
    return error;
  }
  auto* array = parsed->if_array();
  if (array == nullptr) return InvalidField("body", "The body must be a JSON array of items.");
  if (array->size() > kMaxBatchItems) {
    return Error{ErrorCode::kPayloadTooLarge, "A batch holds at most 10000 items.", {}, {}};
  }
  numbers = NumberTexts::OfElements(request.body(), *array, kMaxJsonDepth);
  for (auto& value : *array) items.emplace_back(std::move(value));
  return items;
}

namespace {

// What became of one item: not yet known (its draft went to the store), refused, or stored.
using ItemResult = std::variant<std::monostate, Error, hub::PublishedEvent>;

// A batch's items validated: one result per item (a rejected item's already known), and the
// drafts of the valid ones with, for each draft, the index of its item.
struct DraftedItems {
  std::vector<ItemResult> results;
  std::vector<EventDraft> drafts;
  std::vector<std::size_t> item_of_draft;
};

// Each item's event is moved into its draft.
DraftedItems DraftItems(std::vector<Result<boost::json::value>>& items,
                        std::vector<NumberTexts>& numbers, const auth::Claims& caller,
                        std::chrono::system_clock::time_point now, ValidationMode validation) {
  DraftedItems drafted;
  drafted.results.resize(items.size());
  drafted.drafts.reserve(items.size());
  drafted.item_of_draft.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    hub::DraftResult draft = items[i].has_error()
                                 ? hub::DraftResult(items[i].error())
                                 : DraftFromItem(*items[i], caller, now, validation);
    if (!draft) {
      drafted.results[i] = draft.error();
      continue;
    }
    numbers[i].Restore(draft->json);
    drafted.drafts.push_back(*std::move(draft));
    drafted.item_of_draft.push_back(i);
  }
  return drafted;
}

// Parses the body and drafts its items, in the thread's scratch memory: the drafts own their
// text, and every parsed value is gone when this returns (nothing here waits, so no other request
// on the thread can reach the scratch meanwhile).
Result<DraftedItems> ParseAndDraft(const Request& request, const auth::Claims& caller,
                                   std::chrono::system_clock::time_point now,
                                   ValidationMode validation) {
  boost::json::monotonic_resource arena = ThreadParseMemory(request.body().size());
  std::vector<NumberTexts> numbers;
  auto items = ParseItems(request, numbers, boost::json::storage_ptr(&arena));
  if (!items) return items.error();
  return DraftItems(*items, numbers, caller, now, validation);
}

// Writes what the store made of each draft into its item's result; returns how many of the
// items were accepted.
std::size_t RecordPublished(const hub::Published& published,
                            const std::vector<std::size_t>& item_of_draft,
                            std::vector<ItemResult>& results) {
  std::size_t accepted = 0;
  for (std::size_t k = 0; k < published.events.size() && k < item_of_draft.size(); ++k) {
    const Result<hub::PublishedEvent>& event = published.events[k];
    if (!event) {
      results[item_of_draft[k]] = event.error();
      continue;
    }
    ++accepted;
    results[item_of_draft[k]] = *event;
  }
  return accepted;
}

// The answer's body: {"results":[…],"accepted":A,"rejected":R}, one result per item. A stored
// item's result is written directly (a batch holds up to 10 000 of them); a refused one's
// through Boost.JSON, which escapes its message.
std::string BatchBody(const std::vector<ItemResult>& results, std::size_t accepted) {
  // {"status":200,"event_id":"…","connection_count":N}
  constexpr std::size_t kStoredResultBytes = 72;
  std::string body;
  body.reserve(results.size() * kStoredResultBytes + 64);
  auto out = std::back_inserter(body);
  body += R"({"results":[)";
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i > 0) body += ',';
    if (const auto* event = std::get_if<hub::PublishedEvent>(&results[i])) {
      body += R"({"status":200,"event_id":")";
      AppendEventId(body, event->id);
      fmt::format_to(out, R"(","connection_count":{}}})", event->connection_count);
    } else if (const auto* error = std::get_if<Error>(&results[i])) {
      body += boost::json::serialize(ErrorItem(*error));
    } else {
      body += "{}";
    }
  }
  fmt::format_to(out, R"(],"accepted":{},"rejected":{}}})", accepted, results.size() - accepted);
  return body;
}

}  // namespace

asio::awaitable<Response> HandleBatch(const Request& request, const RouteMatch& match,
                                      Requester* requester, Services* services) {
  const auto now = services->Now();
  auto caller = AuthenticateAndCharge(request, match.query, *services, hub::RateLimitKind::kPublish,
                                      *requester);
  if (!caller) co_return ErrorResponse(request, caller.error(), now);
  auto idempotency = IdempotencyOf(request, *caller, "/api/v1/events");
  if (!idempotency) co_return ErrorResponse(request, idempotency.error(), now);
  // Validate every item; the valid ones go to the store together.
  auto parsed = ParseAndDraft(request, *caller, now, services->options.validation);
  if (!parsed) co_return ErrorResponse(request, parsed.error(), now);
  DraftedItems& drafted = *parsed;
  hub::PublishOutcome outcome;
  std::size_t accepted = 0;
  if (!drafted.drafts.empty()) {
    outcome = co_await Publish(services->hub.publisher(), std::move(drafted.drafts),
                               *std::move(idempotency));
    if (!outcome) co_return ErrorResponse(request, outcome.error(), services->Now());
    accepted = RecordPublished(*outcome, drafted.item_of_draft, drafted.results);
  }
  Response reply =
      JsonResponse(request, beast_http::status::ok, BatchBody(drafted.results, accepted));
  MarkReplayed(reply, outcome);
  co_return reply;
}

}  // namespace herald::http
