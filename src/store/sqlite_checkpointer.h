// The WAL's checkpoints, off the writer thread. SQLite's own autocheckpoint runs inside the
// commit that takes the WAL past 1 000 pages: that publish waits while the checkpoint copies
// pages into the database file and syncs both files. Attached to the writer connection, this
// replaces it: the writer's commit hook only asks, and a thread of its own with its own
// connection runs PASSIVE checkpoints (they never block the writer or a reader).
//
// Should that thread fall behind a writer that never pauses (the WAL restarts only once every
// frame is copied back), the writer runs a PASSIVE checkpoint itself when the WAL passes
// `writer_frames`, which bounds the file as SQLite's autocheckpoint did.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "store/open_store.h"
#include "store/sqlite_db.h"
#include "store/sqlite_store.h"

namespace herald::store::sqlite {

struct CheckpointOptions {
  std::uint32_t frames = 1000;         // a checkpoint every this many new WAL pages
  std::uint32_t writer_frames = 8000;  // past this WAL size the writer checkpoints itself
};

class Checkpointer {
 public:
  // Opens its own connection to `path` (an existing database in WAL mode) and starts its thread.
  // Throws std::runtime_error.
  Checkpointer(const std::string& path, Durability durability, CheckpointOptions options);
  // Stops and joins the thread; a checkpoint under way finishes first.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Becomes `writer`'s WAL hook (sqlite3_wal_hook), which turns SQLite's autocheckpoint off on
  // it. Call once, on the writer's thread, before its first write; detach before `writer` or
  // this object goes.
  void Attach(Connection& writer);
  void Detach(Connection& writer);

  CheckpointCounts Counts() const;

 private:
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  void AfterCommit(sqlite3* db, std::uint32_t frames);  // writer thread
  void Run();                                           // checkpointer thread
  void Count(int rc, std::atomic<std::uint64_t>& done);

  const CheckpointOptions options_;
  Connection db_;
  // Writer thread only: the WAL size at the last commit and at the last request.
  std::uint32_t last_frames_ = 0;
  std::uint32_t requested_at_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;  // guarded by mutex_
  bool stop_ = false;       // guarded by mutex_

  std::atomic<std::uint64_t> background_{0};
  std::atomic<std::uint64_t> on_writer_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::thread thread_;  // last: starts once everything above is built
};

}  // namespace herald::store::sqlite
