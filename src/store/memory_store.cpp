#include "store/memory_store.h"

#include <algorithm>
#include <mutex>

#include "store/history.h"

namespace herald::store {

namespace {

std::int64_t ToMillis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

bool Selects(const ReplayFilter& filter, const StoredEvent& event) {
  if (!StreamCarries(filter.stream, event.protocol)) return false;
  return !filter.context || event.context == filter.context;
}

}  // namespace

class MemoryStore::Group final : public WriteGroup {
 public:
  explicit Group(MemoryStore& store) : store_(store) {}

  Result<std::optional<ContextRecord>> FindContext(const ContextKey& key) override {
    return store_.Context(key);
  }
  Result<bool> TaskSeen(const ContextKey& context, const std::string& task) override {
    return store_.Task(context, task);
  }
  Result<std::uint64_t> CountContexts(const UserId& user) override {
    return store_.ContextCount(user);
  }
  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(
      const std::string& key, std::chrono::system_clock::time_point now) override {
    return store_.Key(key, now);
  }
  Result<std::vector<StoredEvent>> Commit(std::span<const EventDraft> drafts,
                                          std::span<const IdempotencyClaim> claims,
                                          std::span<const ContextWrite> contexts,
                                          std::chrono::system_clock::time_point now) override {
    return store_.Commit(drafts, claims, contexts, now);
  }

 private:
  MemoryStore& store_;
};

MemoryStore::MemoryStore(std::optional<std::uint32_t> history)
    : history_(history.value_or(NewHistory())) {}

Result<std::unique_ptr<WriteGroup>> MemoryStore::BeginGroup() {
  return Result<std::unique_ptr<WriteGroup>>(std::make_unique<Group>(*this));
}

Result<std::vector<StoredEvent>> MemoryStore::Commit(std::span<const EventDraft> drafts,
                                                     std::span<const IdempotencyClaim> claims,
                                                     std::span<const ContextWrite> contexts,
                                                     std::chrono::system_clock::time_point now) {
  const std::int64_t stored_at_ms = ToMillis(now);
  std::vector<StoredEvent> stored;
  stored.reserve(drafts.size());
  std::unique_lock lock(mutex_);
  for (const EventDraft& draft : drafts) {
    UserLog& log = users_[draft.user];
    StoredEvent event{draft.user,     EventId{history_, ++log.last_sequence},
                      draft.protocol, draft.context,
                      draft.type,     draft.json,
                      stored_at_ms};
    log.events.push_back(event);
    stored.push_back(std::move(event));
  }
  for (const IdempotencyClaim& claim : claims) {
    KeyEntry entry{{claim.fingerprint, {}}, claim.expires_at};
    for (std::size_t i : claim.drafts) {
      entry.record.event_ids.push_back(i == IdempotencyClaim::kRefused ? EventId{history_, 0}
                                                                       : stored[i].id);
    }
    keys_[claim.key] = std::move(entry);
  }
  for (const ContextWrite& write : contexts) {
    if (!write.record) {
      contexts_.erase(write.key);
      continue;
    }
    ContextEntry& entry = contexts_[write.key];
    entry.record = *write.record;
    if (write.reset_tasks) entry.tasks.clear();
    entry.tasks.insert(write.new_tasks.begin(), write.new_tasks.end());
  }
  return Result<std::vector<StoredEvent>>(std::move(stored));
}

Result<std::optional<IdempotencyRecord>> MemoryStore::Key(
    const std::string& key, std::chrono::system_clock::time_point now) const {
  std::shared_lock lock(mutex_);
  const auto it = keys_.find(key);
  if (it == keys_.end() || it->second.expires_at <= now) {
    return Result<std::optional<IdempotencyRecord>>(std::nullopt);
  }
  return Result<std::optional<IdempotencyRecord>>(it->second.record);
}

Result<std::optional<ContextRecord>> MemoryStore::Context(const ContextKey& key) const {
  std::shared_lock lock(mutex_);
  const auto found = contexts_.find(key);
  if (found == contexts_.end()) return Result<std::optional<ContextRecord>>(std::nullopt);
  return Result<std::optional<ContextRecord>>(found->second.record);
}

Result<bool> MemoryStore::Task(const ContextKey& context, const std::string& task) const {
  std::shared_lock lock(mutex_);
  const auto found = contexts_.find(context);
  return Result<bool>(found != contexts_.end() && found->second.tasks.contains(task));
}

Result<std::uint64_t> MemoryStore::ContextCount(const UserId& user) const {
  std::shared_lock lock(mutex_);
  std::uint64_t count = 0;
  for (const auto& [key, entry] : contexts_) count += key.user == user ? 1 : 0;
  return Result<std::uint64_t>(count);
}

Result<ContextsView> MemoryStore::ReadContexts(const UserId& user, const ContextQuery& query) {
  ContextsView view;
  std::shared_lock lock(mutex_);
  // A scan of every context: fine for tests and `memory:`; SQLite has an index by owner.
  for (const auto& [key, entry] : contexts_) {
    if (key.user != user || (query.only && key.id != *query.only)) continue;
    ++view.total;
    if (query.after && !ComesAfter(entry.record, *query.after)) continue;
    view.contexts.push_back(entry.record);
  }
  SortNewestFirst(view.contexts);
  if (query.limit > 0 && view.contexts.size() > query.limit) view.contexts.resize(query.limit);
  if (const auto found = users_.find(user); found != users_.end())
    view.range = RangeOf(found->second);
  return Result<ContextsView>(std::move(view));
}

Result<ReplayPage> MemoryStore::ReadAfter(const UserId& user, std::uint64_t after_sequence,
                                          const ReplayFilter& filter, std::size_t limit) {
  ReplayPage page;
  std::shared_lock lock(mutex_);
  const auto found = users_.find(user);
  if (found == users_.end()) return Result<ReplayPage>(std::move(page));
  const std::deque<StoredEvent>& events = found->second.events;
  auto it = std::upper_bound(events.begin(), events.end(), after_sequence,
                             [](std::uint64_t sequence, const StoredEvent& event) {
                               return sequence < event.id.sequence;
                             });
  for (; it != events.end(); ++it) {
    if (!Selects(filter, *it)) continue;
    if (page.events.size() == limit) {
      page.more = true;
      break;
    }
    page.events.push_back(*it);
  }
  return Result<ReplayPage>(std::move(page));
}

Result<UserRange> MemoryStore::Range(const UserId& user) {
  std::shared_lock lock(mutex_);
  const auto found = users_.find(user);
  if (found == users_.end()) return Result<UserRange>(UserRange{});
  return Result<UserRange>(RangeOf(found->second));
}

UserRange MemoryStore::RangeOf(const UserLog& log) {
  const std::uint64_t first =
      log.events.empty() ? log.last_sequence + 1 : log.events.front().id.sequence;
  return UserRange{first, log.last_sequence};
}

Result<std::size_t> MemoryStore::Prune(const RetentionPolicy& policy,
                                       std::chrono::system_clock::time_point now,
                                       std::size_t max_rows) {
  const std::int64_t cutoff_ms = ToMillis(now - policy.max_age);
  std::size_t deleted = 0;
  std::unique_lock lock(mutex_);
  std::erase_if(keys_, [now](const auto& entry) { return entry.second.expires_at <= now; });
  for (auto& [user, log] : users_) {
    std::deque<StoredEvent>& events = log.events;
    while (
        deleted < max_rows && !events.empty() &&
        (events.size() > policy.max_events_per_user || events.front().stored_at_ms < cutoff_ms)) {
      events.pop_front();
      ++deleted;
    }
    if (deleted == max_rows) break;
  }
  return Result<std::size_t>(deleted);
}

}  // namespace herald::store
