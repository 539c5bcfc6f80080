#include "store/event_store.h"

namespace herald::store {

namespace {

// Runs `read` in a group of its own, which is then rolled back.
template <class T, class Read>
Result<T> InGroup(EventStore& store, Read read) {
  auto group = store.BeginGroup();
  if (!group.has_value()) return StoreFailure(std::move(group.error().message));
  return read(**group);
}

}  // namespace

Result<std::vector<StoredEvent>> EventStore::Append(std::span<const EventDraft> drafts,
                                                    std::span<const IdempotencyClaim> claims,
                                                    std::span<const ContextWrite> contexts,
                                                    std::chrono::system_clock::time_point now) {
  return InGroup<std::vector<StoredEvent>>(
      *this, [&](WriteGroup& group) { return group.Commit(drafts, claims, contexts, now); });
}

Result<std::optional<ContextRecord>> EventStore::FindContext(const ContextKey& key) {
  return InGroup<std::optional<ContextRecord>>(
      *this, [&](WriteGroup& group) { return group.FindContext(key); });
}

Result<bool> EventStore::TaskSeen(const ContextKey& context, const std::string& task) {
  return InGroup<bool>(*this, [&](WriteGroup& group) { return group.TaskSeen(context, task); });
}

Result<std::optional<IdempotencyRecord>> EventStore::FindIdempotencyKey(
    const std::string& key, std::chrono::system_clock::time_point now) {
  return InGroup<std::optional<IdempotencyRecord>>(
      *this, [&](WriteGroup& group) { return group.FindIdempotencyKey(key, now); });
}

}  // namespace herald::store
