#include "hub/publication.h"

#include <fmt/format.h>

#include <array>
#include <boost/json/serialize.hpp>

#include "core/event_validation.h"
#include "core/time_format.h"

namespace herald::hub {

namespace {

constexpr std::string_view kClientIdRule =
    " must be 1-256 bytes of UTF-8 without control characters";
constexpr std::string_view kContextIdRule =
    " must be 1-256 bytes of UTF-8 without control characters, '/' or '\\', and not a "
    "placeholder such as \"undefined\"";

// Reads an optional id field; nullopt when absent, an error when present but not a valid id.
Result<std::optional<std::string>> OptionalId(const boost::json::object& body,
                                              std::string_view field,
                                              bool (*valid)(std::string_view),
                                              std::string_view rule) {
  const auto* value = body.if_contains(field);
  if (value == nullptr) return std::optional<std::string>{};
  const auto* text = value->if_string();
  if (text == nullptr)
    return InvalidField(std::string(field), std::string(field) + " must be a string");
  if (!valid(*text)) {
    return InvalidField(std::string(field), std::string(field).append(rule));
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

// The original's CUSTOM value for one broadcast event_type, or why not (a 422).
using BroadcastValue = Result<std::pair<std::string, boost::json::object>>;

const boost::json::object* ObjectAt(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value == nullptr ? nullptr : value->if_object();
}

BroadcastValue TaskCreated(const boost::json::object& body, const std::string& context,
                           const std::string& entity) {
  const auto* data = ObjectAt(body, "task_data");
  if (data == nullptr) return InvalidField("task_data", "task_data is required for task_created");
  const auto* task = ObjectAt(*data, "task");
  if (task == nullptr)
    return InvalidField("task_data.task", "task_data.task must be an A2A task object");
  const auto* history = task->if_contains("history");
  if (history == nullptr || !history->is_array() || history->get_array().empty()) {
    return InvalidField("task_data.task.history",
                        "task_data.task.history must hold the user's message (a non-empty array)");
  }
  boost::json::object value;
  value["task"] = *task;
  value["threadId"] = context;
  value["runId"] = entity;
  return std::pair{std::string("run_started"), std::move(value)};
}

BroadcastValue TaskCompleted(const boost::json::object& body) {
  // The original re-reads the task from its database; its back-end also sends it as task_data
  // (bare, or wrapped as {"task": …}), which Herald passes on as sent.
  const auto* data = ObjectAt(body, "task_data");
  if (data == nullptr) {
    return InvalidField(
        "task_data",
        "task_data is required for task_completed: Herald does not have the original "
        "system's task database, so the completed task must come with the request");
  }
  const auto* task = ObjectAt(*data, "task");
  if (task == nullptr) task = data;
  const auto non_empty = [](const boost::json::value* v) -> boost::json::value {
    return v != nullptr && v->is_array() && !v->get_array().empty() ? *v : nullptr;
  };
  const auto* metadata = ObjectAt(*task, "metadata");
  boost::json::object value;
  value["task"] = *task;
  value["artifacts"] = non_empty(task->if_contains("artifacts"));
  value["executionSteps"] =
      non_empty(metadata != nullptr ? metadata->if_contains("executionSteps") : nullptr);
  return std::pair{std::string("task_completed"), std::move(value)};
}

BroadcastValue ExecutionStep(const boost::json::object& body) {
  const auto* step = ObjectAt(body, "step_data");
  if (step == nullptr) return InvalidField("step_data", "step_data is required for execution_step");
  const auto* content = ObjectAt(*step, "content");
  const auto* kind = content != nullptr ? content->if_contains("type") : nullptr;
  if (kind == nullptr || !kind->is_string()) {
    return InvalidField("step_data.content.type", "step_data.content.type must be a string");
  }
  const auto* task = step->if_contains("taskId");
  if (task == nullptr || !task->is_string()) {
    return InvalidField("step_data.taskId", "step_data.taskId must be a string");
  }
  const auto* status = step->if_contains("status");
  const bool finished =
      status != nullptr && status->is_string() && status->get_string() == "completed";
  boost::json::object value;
  value["stepName"] = *kind;
  value["taskId"] = *task;
  value["step"] = *step;
  return std::pair{std::string(finished ? "step_finished" : "step_started"), std::move(value)};
}

BroadcastValue BroadcastEvent(std::string_view type, const boost::json::object& body,
                              const std::string& context, const std::string& entity) {
  if (type == "task_created") return TaskCreated(body, context, entity);
  if (type == "task_completed") return TaskCompleted(body);
  if (type == "execution_step") return ExecutionStep(body);
  if (type == "message_received") {
    boost::json::object value;
    value["messageId"] = entity;
    return std::pair{std::string("message_received"), std::move(value)};
  }
  if (type == "artifact_created" || type == "context_updated") {
    return InvalidField(
        "event_type",
        fmt::format("event_type {} is not supported: its event carries the {} from the "
                    "original system's database, which Herald does not have; publish "
                    "the CUSTOM event to /api/v1/webhook/agui instead",
                    type, type == "artifact_created" ? "artifact" : "context row"));
  }
  return InvalidField("event_type",
                      "event_type must be one of task_created, task_completed, execution_step, "
                      "message_received (artifact_created and context_updated are not supported)");
}

}  // namespace

DraftResult DraftFromBroadcast(const boost::json::object& body, const auth::Claims& caller,
                               std::chrono::system_clock::time_point now, ValidationMode validation,
                               std::string& custom_name) {
  const auto* type = body.if_contains("event_type");
  if (type == nullptr || !type->is_string()) {
    return InvalidField("event_type", "event_type is required (a string)");
  }
  std::array<std::string, 3> ids;  // user_id, context_id, entity_id: all required
  constexpr std::array<std::string_view, 3> kIdFields = {"user_id", "context_id", "entity_id"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const bool context = kIdFields[i] == "context_id";
    auto id = OptionalId(body, kIdFields[i], context ? IsValidContextId : IsValidClientId,
                         context ? kContextIdRule : kClientIdRule);
    if (!id) return id.error();
    auto& value = *id;
    if (!value)
      return InvalidField(std::string(kIdFields[i]), fmt::format("{} is required", kIdFields[i]));
    ids[i] = std::move(*value);
  }
  auto custom = BroadcastEvent(type->get_string(), body, ids[1], ids[2]);
  if (!custom) return custom.error();
  auto& [name, value] = *custom;
  boost::json::object event;
  event["type"] = "CUSTOM";
  event["timestamp"] = FormatRfc3339(now);  // as the original stamps it
  event["name"] = name;
  event["value"] = std::move(value);
  custom_name = std::move(name);
  return FinishDraft(Protocol::kAgui, UserId(std::move(ids[0])), ContextId(std::move(ids[1])),
                     std::move(event), caller, now, validation);
}

// `body` is a sink: the event's members are moved out of it.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
DraftResult DraftFromWebhook(Protocol protocol, boost::json::object body,
                             const auth::Claims& caller, std::chrono::system_clock::time_point now,
                             ValidationMode validation) {
  auto user = OptionalId(body, "user_id", IsValidClientId, kClientIdRule);
  if (!user) return user.error();
  auto& user_id = *user;
  if (!user_id) return InvalidField("user_id", "user_id is required");
  auto context = OptionalId(body, "context_id", IsValidContextId, kContextIdRule);
  if (!context) return context.error();
  auto& context_id = *context;

  // The routing fields are not part of the event; copy the rest in the publisher's order.
  boost::json::object event(body.storage());
  event.reserve(body.size());
  for (auto& [key, value] : body) {
    if (key != "user_id" && key != "context_id") event.emplace(key, std::move(value));
  }
  std::optional<ContextId> attributed;
  if (context_id) attributed = ContextId(std::move(*context_id));
  return FinishDraft(protocol, UserId(std::move(*user_id)), std::move(attributed), std::move(event),
                     caller, now, validation);
}

Result<Envelope> EnvelopeOf(boost::json::object& envelope) {
  const auto* protocol_value = envelope.if_contains("protocol");
  const auto protocol = protocol_value != nullptr && protocol_value->is_string()
                            ? ParseProtocol(protocol_value->get_string())
                            : std::nullopt;
  if (!protocol) return InvalidField("protocol", R"(protocol must be "agui", "a2a" or "system")");
  auto* event = envelope.if_contains("event");
  if (event == nullptr || !event->is_object())
    return InvalidField("event", "event must be an object");
  return Envelope{*protocol, &event->get_object()};
}

DraftResult FinishDraft(Protocol protocol, UserId user, std::optional<ContextId> context,
                        boost::json::object event, const auth::Claims& caller,
                        std::chrono::system_clock::time_point now, ValidationMode validation,
                        std::string_view field_prefix) {
  if (user != caller.user && !caller.HasScope(kPublishScope)) {
    return Error{ErrorCode::kForbidden,
                 "User ID mismatch: this token may only publish for its own user.",
                 {},
                 {}};
  }
  if (auto problem = ValidateEvent(protocol, event, validation)) {
    return InvalidField(std::string(field_prefix) + problem->field, std::move(problem->message));
  }
  AddTimestampIfAbsent(protocol, event, now);
  EventDraft::ContextEffect effect = EventDraft::ContextEffect::kNone;
  std::optional<std::string> context_name;
  if (const auto type = event.at("type").get_string();
      protocol == Protocol::kSystem &&
      (type == "CONTEXT_CREATED" || type == "CONTEXT_UPDATED" || type == "CONTEXT_DELETED")) {
    // Another system keeping Herald's context table in step: the event changes the table.
    const std::string field = std::string(field_prefix) + "contextId";
    const std::string_view id = event.at("contextId").get_string();
    if (!IsValidContextId(id))
      return InvalidField(field, "contextId" + std::string(kContextIdRule));
    if (context && context->str() != id) {
      return InvalidField(field, "contextId must be the context the event is published to");
    }
    context = ContextId(std::string(id));
    effect = type == "CONTEXT_DELETED" ? EventDraft::ContextEffect::kDelete
                                       : EventDraft::ContextEffect::kUpsert;
    if (const auto* name = event.if_contains("name"); name != nullptr && name->is_string()) {
      if (name->get_string().empty() || name->get_string().size() > kMaxContextNameBytes ||
          HasControlCharacter(name->get_string())) {
        return InvalidField(std::string(field_prefix) + "name",
                            "name must be 1-256 bytes without control characters");
      }
      context_name = std::string(name->get_string());
    }
  }
  if (!context) context = EventContext(protocol, event);

  EventDraft draft;
  draft.user = std::move(user);
  draft.protocol = protocol;
  draft.context = std::move(context);
  draft.context_effect = effect;
  draft.context_name = std::move(context_name);
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
