// The write side of the SQLite store: the one writer connection, the per-user sequence cache,
// group-committed appends and bounded pruning. Writer thread only; nothing here is locked.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/event_store.h"
#include "store/open_store.h"
#include "store/sqlite_checkpointer.h"
#include "store/sqlite_db.h"
#include "store/sqlite_store.h"

namespace herald::store::sqlite {

// Whether opening a write group waits for a write lock another connection holds (up to the busy
// timeout) or gives up at once.
enum class LockWait { kWait, kNoWait };

class Writer {
 public:
  // Opens (creating) the file, sets WAL and the durability, migrates, and hands the WAL's
  // checkpoints to a Checkpointer. Throws std::runtime_error.
  explicit Writer(const SqliteStoreOptions& options);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  std::uint32_t history() const { return history_; }

  // A write group (store/event_store.h WriteGroup): BeginGroup opens the transaction (BEGIN
  // IMMEDIATE), the Find/TaskSeen reads run inside it, CommitGroup numbers, writes and commits;
  // a failed CommitGroup and Rollback end it without changes. BeginGroup is false, with no
  // transaction, only for kNoWait when another connection holds the write lock.
  Result<bool> BeginGroup(LockWait wait);
  Result<std::vector<StoredEvent>> CommitGroup(std::span<const EventDraft> drafts,
                                               std::span<const IdempotencyClaim> claims,
                                               std::span<const ContextWrite> contexts,
                                               std::chrono::system_clock::time_point now);
  void Rollback();
  Result<std::optional<ContextRecord>> FindContext(const ContextKey& key);
  Result<bool> TaskSeen(const ContextKey& context, const std::string& task);
  Result<std::uint64_t> CountContexts(const UserId& user);
  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(
      const std::string& key, std::chrono::system_clock::time_point now);
  Result<std::size_t> Prune(const RetentionPolicy& policy,
                            std::chrono::system_clock::time_point now, std::size_t max_rows);
  // Frees the connection's page cache (outside a group).
  void ReleaseMemory() { db_.ReleaseMemory(); }
  CheckpointCounts Checkpoints() const { return checkpointer_->Counts(); }

 private:
  struct UserState {
    std::uint64_t last_seq = 0;     // committed
    std::uint64_t pending_seq = 0;  // inside the open transaction, valid while `touched`
    std::uint32_t slot = 0;         // index in touched_, valid while `touched`
    bool touched = false;
    bool has_row = false;          // committed in `users`
    bool prune_candidate = false;  // in prune_candidates_
  };
  using UserMap = std::unordered_map<UserId, UserState>;

  // CommitGroup's steps. WriteAndCommit: numbers the drafts, inserts them user by user, adds new
  // users' rows, claims and contexts, commits; the failed step's name, or nullopt.
  std::optional<std::string_view> WriteAndCommit(std::span<const EventDraft> drafts,
                                                 std::span<const IdempotencyClaim> claims,
                                                 std::span<const ContextWrite> contexts,
                                                 std::int64_t stored_at_ms);
  // Each draft's sequence (seq_of_) in input order, its user's slot (slot_of_) in touched_;
  // false on a database error.
  bool NumberDrafts(std::span<const EventDraft> drafts);
  // order_: the drafts user by user (a stable counting sort by slot), so that a user's events of
  // this group sit together in the table and a later replay reads fewer pages.
  void OrderByUser(std::size_t count);
  // After COMMIT: the touched users' pending sequences become their committed ones.
  void AdoptCommitted();
  // The user's cache entry, loaded from `users` on first touch; nullptr on a database error.
  UserMap::value_type* Load(const UserId& user);
  bool Insert(const EventDraft& draft, std::uint64_t seq, std::int64_t stored_at_ms);
  // Adds the user's row, or raises its last_seq to `seq` (never lowers it).
  bool RaiseFloor(const UserId& user, std::uint64_t seq);
  bool Begin();
  bool Commit();
  // Rolls back the open transaction and returns the error of `what` (read before rolling back).
  std::string Abort(std::string_view what);
  // Marks users whose last_seq exceeds `limit` as prune candidates (after open or a new limit).
  bool ScanForPruneCandidates(std::size_t limit);
  bool PruneByCount(std::size_t limit, std::size_t max_rows, std::size_t& deleted);
  bool PruneByAge(std::int64_t cutoff_ms, std::size_t max_rows, std::size_t& deleted);
  bool InsertClaim(const IdempotencyClaim& claim);
  bool WriteContext(const ContextWrite& write);

  Connection db_;
  std::unique_ptr<Checkpointer> checkpointer_;  // detached and gone before db_ closes
  std::uint32_t history_ = 0;
  std::chrono::milliseconds busy_timeout_;
  Statement begin_;
  Statement commit_;
  Statement select_user_;
  Statement insert_event_;
  Statement raise_floor_;
  Statement select_users_over_;
  Statement first_seq_;
  Statement delete_range_;
  Statement delete_aged_;
  Statement floor_aged_;
  Statement insert_key_;
  Statement select_key_;
  Statement delete_expired_keys_;
  Statement select_context_;
  Statement upsert_context_;
  Statement delete_context_;
  Statement delete_tasks_;
  Statement insert_task_;
  Statement select_task_;
  Statement count_contexts_;

  UserMap users_;
  // Scratch of Append, kept to reuse their memory.
  std::vector<UserMap::value_type*> touched_;  // users of the open transaction
  std::vector<std::uint64_t> seq_of_;          // per draft: its sequence
  std::vector<std::uint32_t> slot_of_;         // per draft: its user's index in touched_
  std::vector<std::size_t> slot_start_;        // counting sort of drafts by user
  std::vector<std::size_t> order_;             // insertion order: drafts grouped by user
  // Users that may hold more than the count limit: every user appended to since it was last
  // checked, plus, after open or a limit change, every user whose last_seq exceeds the limit.
  std::vector<UserMap::value_type*> prune_candidates_;
  std::optional<std::size_t> scanned_limit_;  // the limit the last full scan used
};

}  // namespace herald::store::sqlite
