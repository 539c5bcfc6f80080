#include "hub/contexts.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cassert>

#include "core/time_format.h"

namespace herald::hub {

namespace {

// A System event about a context, stamped with the hub's time (spec §3.1: RFC 3339 for System).
EventDraft SystemEvent(const UserId& user, const ContextId& id, std::string_view type,
                       const std::string* name, std::chrono::system_clock::time_point now) {
  boost::json::object event;
  event["type"] = type;
  event["contextId"] = id.str();
  if (name != nullptr) event["name"] = *name;
  event["timestamp"] = FormatRfc3339(now);
  EventDraft draft;
  draft.user = user;
  draft.protocol = Protocol::kSystem;
  draft.context = id;
  draft.type = std::string(type);
  draft.json = boost::json::serialize(event);
  return draft;
}

// Spec §3.4: AGENT_MESSAGE (A2A) and TEXT_MESSAGE_END (AG-UI) count as messages.
bool IsMessage(const EventDraft& draft) {
  return (draft.protocol == Protocol::kA2a && draft.type == "AGENT_MESSAGE") ||
         (draft.protocol == Protocol::kAgui && draft.type == "TEXT_MESSAGE_END");
}

Error ContextNotFound() { return Error{ErrorCode::kNotFound, "Context not found.", {}, {}}; }

}  // namespace

std::string DefaultContextName(std::chrono::system_clock::time_point now) {
  return "Conversation " + std::to_string(ToUnixMillis(now));
}

GroupContexts::GroupContexts(store::WriteGroup& group, std::chrono::system_clock::time_point now,
                             bool auto_create, ContextLimits limits)
    : store_(group),
      now_(now),
      now_ms_(ToUnixMillis(now)),
      auto_create_(auto_create),
      limits_(limits) {}

GroupContexts::Creation GroupContexts::MayCreate(const UserId& user) {
  if (limits_.max_per_user > 0) {
    auto stored = stored_counts_.find(user);
    if (stored == stored_counts_.end()) {
      auto count = store_.CountContexts(user);
      if (!count.has_value()) return {.store_error = true, .refused = std::nullopt};
      stored = stored_counts_.emplace(user, *count).first;
    }
    const auto have = static_cast<std::int64_t>(stored->second) + created_[user];
    if (have >= static_cast<std::int64_t>(limits_.max_per_user)) {
      if (limits_.metrics != nullptr) limits_.metrics->ContextCreationRefused(false);
      return {.store_error = false,
              .refused =
                  Error{ErrorCode::kConflict,
                        "This user has reached the limit of " +
                            std::to_string(limits_.max_per_user) + " contexts; delete some first.",
                        {},
                        {}}};
    }
  }
  if (limits_.creates != nullptr) {
    assert(limits_.clock != nullptr);
    const auto wait = limits_.creates->Take(user.str(), limits_.clock->Monotonic());
    if (wait != RateLimiter::Duration::zero()) {
      if (limits_.metrics != nullptr) limits_.metrics->ContextCreationRefused(true);
      return {.store_error = false,
              .refused = Error{ErrorCode::kRateLimited,
                               "Contexts are being created too fast for this user; retry later.",
                               {},
                               std::chrono::ceil<std::chrono::seconds>(wait)}};
    }
  }
  ++created_[user];
  return {};
}

Result<GroupContexts::Working*> GroupContexts::Load(const store::ContextKey& key) {
  if (auto found = touched_.find(key); found != touched_.end()) return &found->second;
  auto stored = store_.FindContext(key);
  if (!stored) return stored.error();
  order_.push_back(key);
  Working& working = touched_[key];
  working.record = std::move(*stored);
  return &working;
}

std::optional<bool> GroupContexts::TaskSeen(const store::ContextKey& key, Working& working,
                                            const std::string& task) {
  if (working.group_tasks.contains(task)) return true;
  if (working.tasks_dropped) return false;
  auto seen = store_.TaskSeen(key, task);
  if (!seen.has_value()) return std::nullopt;
  return *seen;
}

GroupContexts::Verdict GroupContexts::Attribute(const EventDraft& draft,
                                                std::vector<EventDraft>& out) {
  if (!draft.context) return Verdict::kAccepted;
  const ContextId& id = *draft.context;
  const store::ContextKey key{draft.user, id};
  const Result<Working*> loaded = Load(key);
  if (!loaded) return Verdict::kStoreError;
  Working* working = *loaded;
  std::optional<store::ContextRecord>& record = working->record;
  if (draft.context_effect != EventDraft::ContextEffect::kNone) {
    // Explicit, so whatever --contexts-auto-create says.
    return Apply(draft, *working) ? Verdict::kAccepted : Verdict::kStoreError;
  }
  if (!record && draft.context_must_exist) return Verdict::kNotFound;
  if (!record && !auto_create_) return Verdict::kAccepted;  // another system owns contexts
  if (!record) {
    const Creation creation = MayCreate(draft.user);
    if (creation.store_error) return Verdict::kStoreError;
    if (creation.refused) return Verdict::kAccepted;  // delivered; no context, no statistics
  }
  std::optional<bool> new_task;
  if (draft.task) {
    const auto seen = TaskSeen(key, *working, *draft.task);
    if (!seen) return Verdict::kStoreError;
    new_task = !*seen;
  }
  if (!record) {
    record = NewRecord(id, draft.user, DefaultContextName(now_));
    out.push_back(SystemEvent(draft.user, id, "CONTEXT_CREATED", &record->name, now_));
  }
  working->dirty = true;
  record->updated_at_ms = std::max(record->updated_at_ms, now_ms_);
  if (IsMessage(draft)) {
    ++record->message_count;
    record->last_message_at_ms = now_ms_;
  }
  if (new_task.value_or(false)) {
    ++record->task_count;
    working->group_tasks.insert(*draft.task);
    working->new_tasks.push_back(*draft.task);
  }
  return Verdict::kAccepted;
}

store::ContextRecord GroupContexts::NewRecord(const ContextId& id, const UserId& owner,
                                              std::string name) const {
  return store::ContextRecord{
      id, owner, std::move(name), std::string(kContextKind), now_ms_, now_ms_, 0, 0, std::nullopt};
}

void GroupContexts::Working::Drop() {
  record.reset();
  tasks_dropped = true;
  new_tasks.clear();
  group_tasks.clear();
}

bool GroupContexts::Apply(const EventDraft& draft, Working& working) {
  std::optional<store::ContextRecord>& record = working.record;
  if (draft.context_effect == EventDraft::ContextEffect::kDelete) {
    if (record) Deleted(draft.user);
    working.dirty = true;
    working.Drop();
    return true;
  }
  if (!record) {
    const Creation creation = MayCreate(draft.user);
    if (creation.store_error) return false;
    if (creation.refused) return true;  // delivered as published; the table stays as it was
    record = NewRecord(*draft.context, draft.user, DefaultContextName(now_));
  }
  working.dirty = true;
  if (draft.context_name) record->name = *draft.context_name;
  record->updated_at_ms = std::max(record->updated_at_ms, now_ms_);
  return true;
}

Result<store::ContextRecord> GroupContexts::Apply(const ContextCommand& command,
                                                  std::vector<EventDraft>& out) {
  const Result<Working*> loaded = Load({command.user, command.id});
  if (!loaded) return loaded.error();
  Working* working = *loaded;
  std::optional<store::ContextRecord>& record = working->record;
  switch (command.kind) {
    case ContextCommand::Kind::kCreate: {
      if (record) {  // the caller's id (or, never expected, a drawn one) is taken
        return Error{ErrorCode::kConflict, "This user already has a context with this id."};
      }
      Creation creation = MayCreate(command.user);
      if (creation.store_error) return store::StoreFailure("contexts: count failed");
      if (creation.refused) return std::move(*creation.refused);
      record = NewRecord(command.id, command.user, command.name);
      working->dirty = true;
      out.push_back(SystemEvent(command.user, command.id, "CONTEXT_CREATED", &record->name, now_));
      return *record;
    }
    case ContextCommand::Kind::kRename:
      if (!record) return ContextNotFound();
      record->name = command.name;
      record->updated_at_ms = std::max(record->updated_at_ms, now_ms_);
      working->dirty = true;
      out.push_back(SystemEvent(command.user, command.id, "CONTEXT_UPDATED", &record->name, now_));
      return *record;
    case ContextCommand::Kind::kDelete: {
      if (!record) return ContextNotFound();
      Deleted(command.user);
      store::ContextRecord gone = std::move(*record);
      working->dirty = true;
      working->Drop();
      out.push_back(SystemEvent(command.user, command.id, "CONTEXT_DELETED", nullptr, now_));
      return gone;
    }
  }
  return store::StoreFailure("contexts: unknown command");
}

std::vector<store::ContextWrite> GroupContexts::Writes() const {
  std::vector<store::ContextWrite> writes;
  for (const store::ContextKey& key : order_) {
    const Working& working = touched_.at(key);
    if (!working.dirty) continue;
    writes.push_back(store::ContextWrite{key, working.record,
                                         working.tasks_dropped && working.record.has_value(),
                                         working.new_tasks});
  }
  return writes;
}

}  // namespace herald::hub
