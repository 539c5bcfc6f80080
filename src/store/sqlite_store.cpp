#include "store/sqlite_store.h"

#include <cassert>

#include "store/sqlite_readers.h"
#include "store/sqlite_writer.h"

namespace herald::store {

// Asserts (in debug builds) that writer calls never overlap: they belong to one thread.
class SqliteStore::WriterCall {
 public:
  explicit WriterCall(std::atomic<bool>& flag) : flag_(flag) {
    [[maybe_unused]] const bool busy = flag_.exchange(true, std::memory_order_acquire);
    assert(!busy && "SqliteStore::Append/Prune called from two threads at once");
  }
  ~WriterCall() { flag_.store(false, std::memory_order_release); }
  WriterCall(const WriterCall&) = delete;
  WriterCall& operator=(const WriterCall&) = delete;

 private:
  std::atomic<bool>& flag_;
};

SqliteStore::SqliteStore(const SqliteStoreOptions& options)
    : writer_(std::make_unique<sqlite::Writer>(options)),
      readers_(std::make_unique<sqlite::Readers>(options.path, options.busy_timeout,
                                                 options.max_idle_readers, writer_->history())),
      history_(writer_->history()),
      quick_commits_(options.durability == Durability::kNormal) {}

SqliteStore::~SqliteStore() = default;

// A write group on the writer connection; the WriterCall check spans its whole life.
class SqliteStore::Group final : public WriteGroup {
 public:
  Group(sqlite::Writer& writer, std::atomic<bool>& in_writer_call)
      : writer_(writer), call_(in_writer_call) {}
  ~Group() override {
    if (open_) writer_.Rollback();
  }
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  Result<std::optional<ContextRecord>> FindContext(const ContextKey& key) override {
    return writer_.FindContext(key);
  }
  Result<bool> TaskSeen(const ContextKey& context, const std::string& task) override {
    return writer_.TaskSeen(context, task);
  }
  Result<std::uint64_t> CountContexts(const UserId& user) override {
    return writer_.CountContexts(user);
  }
  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(
      const std::string& key, std::chrono::system_clock::time_point now) override {
    return writer_.FindIdempotencyKey(key, now);
  }
  Result<std::vector<StoredEvent>> Commit(std::span<const EventDraft> drafts,
                                          std::span<const IdempotencyClaim> claims,
                                          std::span<const ContextWrite> contexts,
                                          std::chrono::system_clock::time_point now) override {
    open_ = false;  // CommitGroup ends the transaction either way
    return writer_.CommitGroup(drafts, claims, contexts, now);
  }

  void Opened() { open_ = true; }

 private:
  sqlite::Writer& writer_;
  WriterCall call_;
  bool open_ = false;
};

Result<std::unique_ptr<WriteGroup>> SqliteStore::BeginGroup() {
  return OpenGroup(sqlite::LockWait::kWait);
}

Result<std::unique_ptr<WriteGroup>> SqliteStore::TryBeginGroup() {
  return OpenGroup(sqlite::LockWait::kNoWait);
}

Result<std::unique_ptr<WriteGroup>> SqliteStore::OpenGroup(sqlite::LockWait wait) {
  using Out = Result<std::unique_ptr<WriteGroup>>;
  auto group = std::make_unique<Group>(*writer_, in_writer_call_);
  auto begun = writer_->BeginGroup(wait);
  if (!begun.has_value()) return StoreFailure(std::move(begun.error().message));
  if (!*begun) return Out(nullptr);  // kNoWait, and another connection holds the lock
  group->Opened();
  return Out(std::move(group));
}

void SqliteStore::ReleaseMemory() {
  {
    WriterCall call(in_writer_call_);
    writer_->ReleaseMemory();
  }
  readers_->ReleaseMemory();
}

CheckpointCounts SqliteStore::Checkpoints() const { return writer_->Checkpoints(); }

Result<ContextsView> SqliteStore::ReadContexts(const UserId& user, const ContextQuery& query) {
  return readers_->ReadContexts(user, query);
}

Result<ReplayPage> SqliteStore::ReadAfter(const UserId& user, std::uint64_t after_sequence,
                                          const ReplayFilter& filter, std::size_t limit) {
  return readers_->ReadAfter(user, after_sequence, filter, limit);
}

Result<UserRange> SqliteStore::Range(const UserId& user) { return readers_->Range(user); }

Result<std::size_t> SqliteStore::Prune(const RetentionPolicy& policy,
                                       std::chrono::system_clock::time_point now,
                                       std::size_t max_rows) {
  WriterCall call(in_writer_call_);
  return writer_->Prune(policy, now, max_rows);
}

}  // namespace herald::store
