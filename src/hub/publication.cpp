#include "hub/publication.h"

#include <boost/json/serialize.hpp>

#include "core/event_validation.h"

namespace herald::hub {

namespace {

constexpr std::string_view kClientIdRule =
    " must be 1-256 bytes of UTF-8 without control characters";
constexpr std::string_view kContextIdRule =
    " must be 1-256 bytes of UTF-8 without control characters, '/' or '\\', and not a "
    "placeholder such as \"undefined\"";

ApiError Invalid(std::string field, std::string message) {
  return ApiError{ErrorCode::kValidationError, std::move(message), std::move(field), {}};
}

// Reads an optional id field; nullopt when absent, an error when present but not a valid id.
std::variant<std::optional<std::string>, ApiError> OptionalId(const boost::json::object& body,
                                                              std::string_view field,
                                                              bool (*valid)(std::string_view),
                                                              std::string_view rule) {
  const auto* value = body.if_contains(field);
  if (value == nullptr) return std::optional<std::string>{};
  const auto* text = value->if_string();
  if (text == nullptr) return Invalid(std::string(field), std::string(field) + " must be a string");
  if (!valid(*text)) {
    return Invalid(std::string(field), std::string(field).append(rule));
  }
  return std::optional<std::string>(std::string(*text));
}

// The event's own context: A2A events carry "contextId"; AG-UI run events carry "threadId".
std::optional<ContextId> EventContext(Protocol protocol, const boost::json::object& event) {
  const char* field = nullptr;
  if (protocol == Protocol::kA2a) {
    field = "contextId";
  } else if (protocol == Protocol::kAgui) {
    const auto* type = event.if_contains("type");
    if (type != nullptr && type->is_string() && type->get_string().starts_with("RUN_")) {
      field = "threadId";
    }
  }
  if (field == nullptr) return std::nullopt;
  const auto* value = event.if_contains(field);
  if (value == nullptr || !value->is_string() || !IsValidContextId(value->get_string())) {
    return std::nullopt;
  }
  return ContextId(std::string(value->get_string()));
}

}  // namespace

DraftResult DraftFromWebhook(Protocol protocol, boost::json::object body,
                             const auth::Claims& caller,
                             std::chrono::system_clock::time_point now) {
  auto user = OptionalId(body, "user_id", IsValidClientId, kClientIdRule);
  if (auto* error = std::get_if<ApiError>(&user)) return std::move(*error);
  auto& user_id = std::get<std::optional<std::string>>(user);
  if (!user_id) return Invalid("user_id", "user_id is required");
  auto context = OptionalId(body, "context_id", IsValidContextId, kContextIdRule);
  if (auto* error = std::get_if<ApiError>(&context)) return std::move(*error);
  auto& context_id = std::get<std::optional<std::string>>(context);

  // The routing fields are not part of the event; copy the rest in the publisher's order.
  boost::json::object event(body.storage());
  event.reserve(body.size());
  for (auto& [key, value] : body) {
    if (key != "user_id" && key != "context_id") event.emplace(key, std::move(value));
  }
  std::optional<ContextId> attributed;
  if (context_id) attributed = ContextId(std::move(*context_id));
  return FinishDraft(protocol, UserId(std::move(*user_id)), std::move(attributed), std::move(event),
                     caller, now);
}

DraftResult FinishDraft(Protocol protocol, UserId user, std::optional<ContextId> context,
                        boost::json::object event, const auth::Claims& caller,
                        std::chrono::system_clock::time_point now, std::string_view field_prefix) {
  if (user != caller.user && !caller.HasScope(kPublishScope)) {
    return ApiError{ErrorCode::kForbidden,
                    "User ID mismatch: this token may only publish for its own user.",
                    {},
                    {}};
  }
  if (auto problem = ValidateEvent(protocol, event)) {
    return Invalid(std::string(field_prefix) + problem->field, std::move(problem->message));
  }
  AddTimestampIfAbsent(protocol, event, now);
  if (!context) context = EventContext(protocol, event);

  EventDraft draft;
  draft.user = std::move(user);
  draft.protocol = protocol;
  draft.context = std::move(context);
  draft.type = std::string(event.at("type").get_string());
  if (protocol == Protocol::kA2a) {
    const auto* task = event.if_contains("taskId");
    if (task != nullptr && task->is_string() && IsValidClientId(task->get_string())) {
      draft.task = std::string(task->get_string());
    }
  }
  draft.json = boost::json::serialize(event);
  return draft;
}

}  // namespace herald::hub
