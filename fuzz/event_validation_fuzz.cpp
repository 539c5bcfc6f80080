// Bytes → a publish body, through every route that turns one into events (spec §1.2, §3): the
// AG-UI and A2A webhooks and the original system's broadcast (one JSON object), and the batch
// route as a JSON array and as NDJSON; each in both --validation modes, with the numbers put back
// as sent (core/json_numbers.h) as the handlers do. Every route runs on every
// input, so the corpus holds plain request bodies (tests/golden's among them) and no selector
// byte; a body of the wrong shape for a route is refused by its first check.
//
// Invariants on every draft a route accepts: its JSON parses back (within the depth limit) to an
// object that validates again in the same mode, equal to the one before the numbers were put
// back (doubles up to their last bits), whose "type" is the draft's and which carries a
// timestamp; its user, context and task ids are valid ids; a webhook's routing fields are gone;
// and what strict mode accepts, compatible mode accepts as the same JSON.
#include <algorithm>
#include <boost/json/value.hpp>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "auth/claims.h"
#include "core/event_validation.h"
#include "core/json_numbers.h"
#include "fuzz_support.h"
#include "http/batch_handler.h"
#include "http/publish_handler.h"
#include "hub/publication.h"

namespace {

using herald::fuzz::Require;
namespace json = boost::json;
namespace hub = herald::hub;
namespace http = herald::http;
using herald::EventDraft;
using herald::NumberTexts;
using herald::Protocol;
using herald::ValidationMode;

constexpr ValidationMode kModes[] = {ValidationMode::kCompatible, ValidationMode::kStrict};

// A service token: may publish for any user, so every body reaches validation.
const herald::auth::Claims& Service() {
  static const herald::auth::Claims claims{
      herald::UserId("publisher"), {std::string(hub::kPublishScope)}, herald::fuzz::kNow};
  return claims;
}

json::value ParsedAgain(std::string_view text) {
  auto parsed = http::ParseJson(text);
  Require(parsed.has_value(), "a draft's JSON parses back");
  return *std::move(parsed);
}

void CheckDraft(const EventDraft& draft, ValidationMode mode) {
  const json::value parsed = ParsedAgain(draft.json);
  const json::object* event = parsed.if_object();
  Require(event != nullptr, "a draft's JSON is an object");
  Require(!herald::ValidateEvent(draft.protocol, *event, mode), "a draft validates again");
  const json::value* type = event->if_contains("type");
  Require(type != nullptr && type->is_string() && type->get_string() == draft.type,
          "a draft's type is its event's type");
  Require(event->contains("timestamp"), "a draft carries a timestamp");
  Require(herald::IsValidClientId(draft.user.str()), "a draft's user is a valid id");
  Require(!draft.context || herald::IsValidContextId(draft.context->str()),
          "a draft's context is a valid context id");
  Require(!draft.task || herald::IsValidClientId(*draft.task), "a draft's task is a valid id");
}

// Whether `a` and `b` hold the same members and items, numbers equal up to the last bits of a
// double: Boost.JSON 1.81 parses doubles imprecisely, so the text it writes for one need not parse
// back to the same bits ("1.234567E29" written for 123456700000000000001549994682 parses one ulp
// lower than the digits do), and two texts of one number may parse apart.
bool SameValue(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    return x == y || std::abs(x - y) <= 4 * std::numeric_limits<double>::epsilon() *
                                            std::max(std::abs(x), std::abs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (const auto* array = a.if_array()) {
    const json::array& other = b.get_array();
    if (array->size() != other.size()) return false;
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (!SameValue((*array)[i], other[i])) return false;
    }
    return true;
  }
  if (const auto* object = a.if_object()) {
    const json::object& other = b.get_object();
    if (object->size() != other.size()) return false;
    for (const json::key_value_pair& member : *object) {
      const json::value* match = other.if_contains(member.key());
      if (match == nullptr || !SameValue(member.value(), *match)) return false;
    }
    return true;
  }
  return a == b;
}

// The draft of `result` with the body's numbers put back, after checking it; nullopt when the
// route refused the body.
std::optional<EventDraft> Accepted(hub::DraftResult result, const NumberTexts& numbers,
                                   ValidationMode mode) {
  if (!result) return std::nullopt;
  EventDraft* draft = &*result;
  const std::string written = draft->json;
  numbers.Restore(draft->json);
  CheckDraft(*draft, mode);
  Require(SameValue(ParsedAgain(written), ParsedAgain(draft->json)),
          "putting the numbers back keeps every value");
  return std::move(*draft);
}

// Compatible mode only adds what the original system sends; it never refuses or changes what
// strict mode accepts.
void CheckModesAgree(const std::optional<EventDraft>& compatible,
                     const std::optional<EventDraft>& strict) {
  if (!strict) return;
  Require(compatible.has_value(), "what strict mode accepts, compatible mode accepts");
  Require(compatible->json == strict->json, "both modes deliver the same JSON");
}

void FuzzWebhook(Protocol protocol, const json::object& body, const NumberTexts& numbers) {
  std::optional<EventDraft> drafts[2];
  for (int m = 0; m < 2; ++m) {
    drafts[m] =
        Accepted(hub::DraftFromWebhook(protocol, body, Service(), herald::fuzz::kNow, kModes[m]),
                 numbers, kModes[m]);
    if (!drafts[m]) continue;
    const json::object event = ParsedAgain(drafts[m]->json).as_object();
    Require(!event.contains("user_id") && !event.contains("context_id"),
            "a webhook's routing fields are not delivered");
  }
  CheckModesAgree(drafts[0], drafts[1]);
}

void FuzzBroadcast(const json::object& body, const NumberTexts& numbers) {
  std::optional<EventDraft> drafts[2];
  for (int m = 0; m < 2; ++m) {
    std::string custom_name;
    drafts[m] = Accepted(
        hub::DraftFromBroadcast(body, Service(), herald::fuzz::kNow, kModes[m], custom_name),
        numbers, kModes[m]);
    if (!drafts[m]) continue;
    Require(drafts[m]->type == "CUSTOM", "a broadcast becomes a CUSTOM event");
    Require(!custom_name.empty(), "a broadcast names its CUSTOM event");
    Require(drafts[m]->context.has_value(), "a broadcast is attributed to its context");
  }
  // DraftFromBroadcast stamps the event with `now` itself, so both modes see the same event.
  CheckModesAgree(drafts[0], drafts[1]);
}

void FuzzBatch(std::string_view body, std::string_view content_type) {
  http::Request request{boost::beast::http::verb::post, "/api/v1/events", 11};
  request.set(boost::beast::http::field::content_type, content_type);
  request.body() = std::string(body);
  std::vector<NumberTexts> numbers;
  auto items = http::ParseItems(request, numbers);
  if (!items) return;
  auto* parsed = &*items;
  Require(parsed->size() <= http::kMaxBatchItems, "a batch holds at most kMaxBatchItems");
  Require(numbers.size() == parsed->size(), "a batch notes the numbers of each item");
  for (std::size_t i = 0; i < parsed->size(); ++i) {
    if (!(*parsed)[i]) continue;
    const json::value* value = &*(*parsed)[i];
    std::optional<EventDraft> drafts[2];
    for (int m = 0; m < 2; ++m) {
      json::value item = *value;  // each mode drafts from its own copy: the draft takes the event
      drafts[m] = Accepted(http::DraftFromItem(item, Service(), herald::fuzz::kNow, kModes[m]),
                           numbers[i], kModes[m]);
    }
    CheckModesAgree(drafts[0], drafts[1]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = herald::fuzz::AsText(data, size);
  NumberTexts numbers;
  const auto parsed = http::ParseJson(body, &numbers);
  const json::value* value = parsed ? &*parsed : nullptr;
  if (const auto* object = value != nullptr ? value->if_object() : nullptr) {
    FuzzWebhook(Protocol::kAgui, *object, numbers);
    FuzzWebhook(Protocol::kA2a, *object, numbers);
    FuzzBroadcast(*object, numbers);
  }
  FuzzBatch(body, "application/json");
  FuzzBatch(body, "application/x-ndjson");
  return 0;
}
