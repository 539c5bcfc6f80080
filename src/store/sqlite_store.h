// The embedded default store (spec §7): one SQLite file in WAL mode.
//
// Layout (sqlite_schema.cpp): `events` in commit order (which is also age order) with a unique
// index on (user_id, seq) for replays; `users.last_seq`, a floor under each user's newest
// sequence, written with their first event and when pruning deletes their newest (appends
// after the first write no row of it), so sequences outlive pruning and restarts;
// `meta.history` drawn once at creation. Durability: see Durability. WAL checkpoints run on a
// thread of their own (sqlite_checkpointer.h).
//
// Threads: write groups and Prune go through one writer connection (the writer only, one thread at
// a time; a debug assert catches overlapping calls). A group is one BEGIN IMMEDIATE ... COMMIT; its
// commit numbers the drafts from an in-memory per-user cache; a failed group leaves the cache
// untouched. ReadAfter/Range use a pool of read-only connections and never wait for the writer or
// for each other: they see the last committed group. Errors from calls come back as Result::Fail
// with SQLite's message; only the constructor throws.
//
// One process per file: the sequence cache assumes no other writer. The cache keeps an entry
// for every user written since open.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "store/event_store.h"
#include "store/open_store.h"

namespace herald::store {

namespace sqlite {
class Readers;
class Writer;
enum class LockWait;  // sqlite_writer.h
}  // namespace sqlite

struct SqliteStoreOptions {
  std::string path;  // the file; created if missing, its directory must exist
  Durability durability = Durability::kNormal;
  // How long a statement waits for a lock held by another connection before failing.
  std::chrono::milliseconds busy_timeout{5000};
  std::size_t max_idle_readers = 4;  // read-only connections kept open between reads
  // WAL checkpoints (sqlite_checkpointer.h): one every `checkpoint_frames` new WAL pages, run by
  // a thread of their own; past `writer_checkpoint_frames` pages the writer runs one itself.
  std::uint32_t checkpoint_frames = 1000;
  std::uint32_t writer_checkpoint_frames = 8000;
};

// How many WAL checkpoints ran, and where.
struct CheckpointCounts {
  std::uint64_t background = 0;  // by the checkpointer thread
  std::uint64_t on_writer = 0;   // by the writer, the WAL being past writer_checkpoint_frames
  std::uint64_t failed = 0;      // of either kind, "busy" (another one under way) aside
};

class SqliteStore final : public EventStore {
 public:
  // Opens or creates the file, migrates its schema. Throws std::runtime_error.
  explicit SqliteStore(const SqliteStoreOptions& options);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  std::uint32_t History() const override { return history_; }
  // With synchronous=NORMAL a commit appends to the WAL without an fsync.
  bool QuickCommits() const override { return quick_commits_; }
  Result<std::unique_ptr<WriteGroup>> BeginGroup() override;
  // BEGIN IMMEDIATE with a zero busy timeout: empty when another connection holds the write lock.
  Result<std::unique_ptr<WriteGroup>> TryBeginGroup() override;
  Result<ContextsView> ReadContexts(const UserId& user, const ContextQuery& query) override;
  Result<ReplayPage> ReadAfter(const UserId& user, std::uint64_t after_sequence,
                               const ReplayFilter& filter, std::size_t limit) override;
  Result<UserRange> Range(const UserId& user) override;
  // Age pruning deletes from the oldest commit on, like MemoryStore: should the clock step back,
  // an event stamped earlier than its predecessors goes once they are gone.
  Result<std::size_t> Prune(const RetentionPolicy& policy,
                            std::chrono::system_clock::time_point now,
                            std::size_t max_rows) override;
  // The writer connection's page cache; the idle readers but one, and that one's page cache.
  void ReleaseMemory() override;
  CheckpointCounts Checkpoints() const;

 private:
  class WriterCall;
  class Group;
  Result<std::unique_ptr<WriteGroup>> OpenGroup(sqlite::LockWait wait);

  std::unique_ptr<sqlite::Writer> writer_;  // closed last: its close checkpoints the WAL
  std::unique_ptr<sqlite::Readers> readers_;
  std::uint32_t history_ = 0;
  bool quick_commits_ = false;
  std::atomic<bool> in_writer_call_{false};  // debug check of the writer-thread rule
};

}  // namespace herald::store
