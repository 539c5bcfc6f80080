// An event store in memory: for tests and `--store memory:`. Nothing survives the process.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "store/event_store.h"

namespace herald::store {

// Thread rules as in EventStore: groups and Prune from the writer; reads from any thread.
// One shared_mutex guards everything: reads share it, Append/Prune take it exclusively.
class MemoryStore final : public EventStore {
 public:
  // `history` defaults to a fresh random one.
  explicit MemoryStore(std::optional<std::uint32_t> history = std::nullopt);

  std::uint32_t History() const override { return history_; }
  bool QuickCommits() const override { return true; }
  // A group reads the committed state and applies its writes at Commit, under the lock.
  Result<std::unique_ptr<WriteGroup>> BeginGroup() override;
  Result<ContextsView> ReadContexts(const UserId& user, const ContextQuery& query) override;
  Result<ReplayPage> ReadAfter(const UserId& user, std::uint64_t after_sequence,
                               const ReplayFilter& filter, std::size_t limit) override;
  Result<UserRange> Range(const UserId& user) override;
  // Age pruning removes old events from the front of each user's log, i.e. it assumes the
  // writer's clock does not step back (an older event behind a newer one waits for it).
  Result<std::size_t> Prune(const RetentionPolicy& policy,
                            std::chrono::system_clock::time_point now,
                            std::size_t max_rows) override;

 private:
  class Group;

  Result<std::vector<StoredEvent>> Commit(std::span<const EventDraft> drafts,
                                          std::span<const IdempotencyClaim> claims,
                                          std::span<const ContextWrite> contexts,
                                          std::chrono::system_clock::time_point now);
  Result<std::optional<ContextRecord>> Context(const ContextKey& key) const;
  Result<bool> Task(const ContextKey& context, const std::string& task) const;
  Result<std::uint64_t> ContextCount(const UserId& user) const;
  Result<std::optional<IdempotencyRecord>> Key(const std::string& key,
                                               std::chrono::system_clock::time_point now) const;

  struct UserLog {
    std::uint64_t last_sequence = 0;
    std::deque<StoredEvent> events;  // ascending sequence
  };
  static UserRange RangeOf(const UserLog& log);

  const std::uint32_t history_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<UserId, UserLog> users_;
  struct KeyEntry {
    IdempotencyRecord record;
    std::chrono::system_clock::time_point expires_at;
  };
  std::unordered_map<std::string, KeyEntry> keys_;
  struct ContextEntry {
    ContextRecord record;
    std::set<std::string> tasks;
  };
  std::unordered_map<ContextKey, ContextEntry> contexts_;
};

}  // namespace herald::store
