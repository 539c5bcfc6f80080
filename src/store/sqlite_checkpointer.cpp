#include "store/sqlite_checkpointer.h"

namespace herald::store::sqlite {

Checkpointer::Checkpointer(const std::string& path, Durability durability,
                           CheckpointOptions options)
    : options_(options), db_(path, SQLITE_OPEN_READWRITE) {
  // A checkpoint syncs the WAL before copying it back and the database file after, as the
  // writer's own would under this durability.
  db_.ExecOrThrow(
      durability == Durability::kFull ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
      "checkpointer: set synchronous");
  thread_ = std::thread([this] { Run(); });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Checkpointer::Attach(Connection& writer) { sqlite3_wal_hook(writer.get(), &OnCommit, this); }

void Checkpointer::Detach(Connection& writer) { sqlite3_wal_hook(writer.get(), nullptr, nullptr); }

CheckpointCounts Checkpointer::Counts() const {
  return {background_.load(std::memory_order_relaxed), on_writer_.load(std::memory_order_relaxed),
          failed_.load(std::memory_order_relaxed)};
}

int Checkpointer::OnCommit(void* self, sqlite3* db, const char* /*schema*/, int frames) {
  static_cast<Checkpointer*>(self)->AfterCommit(db, static_cast<std::uint32_t>(frames));
  return SQLITE_OK;  // an error here would turn the committed transaction into a failed call
}

void Checkpointer::AfterCommit(sqlite3* db, std::uint32_t frames) {
  if (frames < last_frames_) requested_at_ = 0;  // the WAL restarted from its start
  last_frames_ = frames;
  if (frames >= options_.writer_frames) {
    Count(sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr),
          on_writer_);
    return;
  }
  if (frames - requested_at_ < options_.frames) return;
  requested_at_ = frames;
  {
    std::lock_guard lock(mutex_);
    requested_ = true;
  }
  wake_.notify_one();
}

void Checkpointer::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || requested_; });
    if (stop_) return;
    requested_ = false;
    lock.unlock();
    Count(
        sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr),
        background_);
    lock.lock();
  }
}

void Checkpointer::Count(int rc, std::atomic<std::uint64_t>& done) {
  // Busy: the other side is checkpointing right now, which is what was wanted.
  if (rc == SQLITE_OK) {
    done.fetch_add(1, std::memory_order_relaxed);
  } else if ((rc & 0xff) != SQLITE_BUSY) {
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace herald::store::sqlite
