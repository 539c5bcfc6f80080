#include "store/sqlite_writer.h"

#include <fmt/format.h>

#include <algorithm>

#include "store/sqlite_schema.h"

namespace herald::store::sqlite {

namespace {

constexpr int kCreateFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

}  // namespace

Writer::Writer(const SqliteStoreOptions& options)
    : db_(options.path, kCreateFlags), busy_timeout_(options.busy_timeout) {
  ConfigureWriter(db_, options.durability, options.busy_timeout);
  // After ConfigureWriter: the connection's pragmas are set before the migration runs.
  history_ = Migrate(db_);  // NOLINT(cppcoreguidelines-prefer-member-initializer)
  checkpointer_ = std::make_unique<Checkpointer>(
      options.path, options.durability,
      CheckpointOptions{options.checkpoint_frames, options.writer_checkpoint_frames});
  checkpointer_->Attach(db_);
  begin_ = db_.Prepare("BEGIN IMMEDIATE");
  commit_ = db_.Prepare("COMMIT");
  select_user_ = db_.Prepare(
      "SELECT max(last_seq, coalesce((SELECT MAX(seq) FROM events WHERE user_id = ?1), 0)) "
      "FROM users WHERE user_id = ?1");
  insert_event_ = db_.Prepare(
      "INSERT INTO events (user_id, seq, protocol, type, context_id, stored_at_ms, payload) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  raise_floor_ = db_.Prepare(
      "INSERT INTO users (user_id, last_seq) VALUES (?1, ?2) "
      "ON CONFLICT (user_id) DO UPDATE SET last_seq = excluded.last_seq "
      "WHERE excluded.last_seq > last_seq");
  select_users_over_ = db_.Prepare(
      "SELECT user_id, last FROM (SELECT user_id, max(last_seq, coalesce((SELECT MAX(seq) FROM "
      "events e WHERE e.user_id = users.user_id), 0)) AS last FROM users) WHERE last > ?1");
  first_seq_ = db_.Prepare("SELECT MIN(seq) FROM events WHERE user_id = ?1");
  delete_range_ = db_.Prepare("DELETE FROM events WHERE user_id = ?1 AND seq BETWEEN ?2 AND ?3");
  insert_key_ = db_.Prepare(
      "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, sequences, expires_at_ms) "
      "VALUES (?1, ?2, ?3, ?4)");
  select_key_ = db_.Prepare(
      "SELECT fingerprint, sequences FROM idempotency_keys WHERE key = ?1 AND expires_at_ms > ?2");
  delete_expired_keys_ = db_.Prepare(
      "DELETE FROM idempotency_keys WHERE key IN "
      "(SELECT key FROM idempotency_keys WHERE expires_at_ms <= ?1 LIMIT ?2)");
  select_context_ = db_.Prepare(
      fmt::format("SELECT {} FROM contexts WHERE user_id = ?1 AND context_id = ?2", kContextColumns)
          .c_str());
  upsert_context_ = db_.Prepare(
      "INSERT OR REPLACE INTO contexts (context_id, user_id, name, kind, created_at_ms, "
      "updated_at_ms, task_count, message_count, last_message_at_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  delete_context_ = db_.Prepare("DELETE FROM contexts WHERE user_id = ?1 AND context_id = ?2");
  delete_tasks_ = db_.Prepare("DELETE FROM context_tasks WHERE user_id = ?1 AND context_id = ?2");
  insert_task_ = db_.Prepare(
      "INSERT OR IGNORE INTO context_tasks (user_id, context_id, task_id) VALUES (?1, ?2, ?3)");
  select_task_ = db_.Prepare(
      "SELECT 1 FROM context_tasks WHERE user_id = ?1 AND context_id = ?2 AND task_id = ?3");
  count_contexts_ = db_.Prepare("SELECT count(*) FROM contexts WHERE user_id = ?1");
  delete_aged_ = db_.Prepare(
      "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?2) "
      "AND stored_at_ms < ?1");
  // The users whose last event the statement above is about to delete keep its sequence.
  floor_aged_ = db_.Prepare(
      "INSERT INTO users (user_id, last_seq) "
      "SELECT user_id, MAX(seq) AS last FROM events "
      "WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?2) AND stored_at_ms < ?1 "
      "GROUP BY user_id "
      "HAVING last = (SELECT MAX(seq) FROM events e WHERE e.user_id = events.user_id) "
      "ON CONFLICT (user_id) DO UPDATE SET last_seq = excluded.last_seq "
      "WHERE excluded.last_seq > last_seq");
}

Writer::~Writer() { checkpointer_->Detach(db_); }

Writer::UserMap::value_type* Writer::Load(const UserId& user) {
  if (const auto found = users_.find(user); found != users_.end()) return &*found;
  Statement::ResetOnExit reset(select_user_);
  select_user_.BindText(1, user.str());
  const int rc = select_user_.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return nullptr;
  UserState state;
  if (rc == SQLITE_ROW) {
    state.last_seq = static_cast<std::uint64_t>(select_user_.ColumnInt64(0));
    state.has_row = true;
  }
  return &*users_.emplace(user, state).first;
}

bool Writer::Begin() {
  Statement::ResetOnExit reset(begin_);
  return begin_.Step() == SQLITE_DONE;
}

bool Writer::Commit() {
  Statement::ResetOnExit reset(commit_);
  return commit_.Step() == SQLITE_DONE;
}

std::string Writer::Abort(std::string_view what) {
  std::string error = db_.Error(what);
  if (db_.InTransaction()) db_.Exec("ROLLBACK");
  return error;
}

bool Writer::Insert(const EventDraft& draft, std::uint64_t seq, std::int64_t stored_at_ms) {
  Statement::ResetOnExit reset(insert_event_);
  insert_event_.BindText(1, draft.user.str());
  insert_event_.BindInt64(2, static_cast<std::int64_t>(seq));
  insert_event_.BindInt64(3, ProtocolCode(draft.protocol));
  insert_event_.BindText(4, draft.type);
  if (draft.context) {
    insert_event_.BindText(5, draft.context->str());
  } else {
    insert_event_.BindNull(5);
  }
  insert_event_.BindInt64(6, stored_at_ms);
  insert_event_.BindText(7, draft.json);
  return insert_event_.Step() == SQLITE_DONE;
}

bool Writer::RaiseFloor(const UserId& user, std::uint64_t seq) {
  Statement::ResetOnExit reset(raise_floor_);
  raise_floor_.BindText(1, user.str());
  raise_floor_.BindInt64(2, static_cast<std::int64_t>(seq));
  return raise_floor_.Step() == SQLITE_DONE;
}

bool Writer::InsertClaim(const IdempotencyClaim& claim) {
  const std::string text =
      FormatClaimSequences(claim, [this](std::size_t draft) { return seq_of_[draft]; });
  Statement::ResetOnExit reset(insert_key_);
  insert_key_.BindText(1, claim.key);
  insert_key_.BindText(2, claim.fingerprint);
  insert_key_.BindText(3, text);
  insert_key_.BindInt64(4, ToMillis(claim.expires_at));
  return insert_key_.Step() == SQLITE_DONE;
}

bool Writer::WriteContext(const ContextWrite& write) {
  if (!write.record || write.reset_tasks) {
    Statement::ResetOnExit reset(delete_tasks_);
    delete_tasks_.BindText(1, write.key.user.str());
    delete_tasks_.BindText(2, write.key.id.str());
    if (delete_tasks_.Step() != SQLITE_DONE) return false;
  }
  if (!write.record) {
    Statement::ResetOnExit reset(delete_context_);
    delete_context_.BindText(1, write.key.user.str());
    delete_context_.BindText(2, write.key.id.str());
    return delete_context_.Step() == SQLITE_DONE;
  }
  const ContextRecord& r = *write.record;
  {
    Statement::ResetOnExit reset(upsert_context_);
    upsert_context_.BindText(1, r.id.str());
    upsert_context_.BindText(2, r.owner.str());
    upsert_context_.BindText(3, r.name);
    upsert_context_.BindText(4, r.kind);
    upsert_context_.BindInt64(5, r.created_at_ms);
    upsert_context_.BindInt64(6, r.updated_at_ms);
    upsert_context_.BindInt64(7, ClampToInt64(r.task_count));
    upsert_context_.BindInt64(8, ClampToInt64(r.message_count));
    if (r.last_message_at_ms) {
      upsert_context_.BindInt64(9, *r.last_message_at_ms);
    } else {
      upsert_context_.BindNull(9);
    }
    if (upsert_context_.Step() != SQLITE_DONE) return false;
  }
  return std::ranges::all_of(write.new_tasks, [&](const std::string& task) {
    Statement::ResetOnExit reset(insert_task_);
    insert_task_.BindText(1, r.owner.str());
    insert_task_.BindText(2, r.id.str());
    insert_task_.BindText(3, task);
    return insert_task_.Step() == SQLITE_DONE;
  });
}

Result<std::optional<ContextRecord>> Writer::FindContext(const ContextKey& key) {
  using Out = Result<std::optional<ContextRecord>>;
  Statement::ResetOnExit reset(select_context_);
  select_context_.BindText(1, key.user.str());
  select_context_.BindText(2, key.id.str());
  const int rc = select_context_.Step();
  if (rc == SQLITE_DONE) return Out(std::nullopt);
  if (rc != SQLITE_ROW) return StoreFailure(db_.Error("contexts: find"));
  return Out(ContextFromRow(select_context_));
}

Result<bool> Writer::TaskSeen(const ContextKey& context, const std::string& task) {
  Statement::ResetOnExit reset(select_task_);
  select_task_.BindText(1, context.user.str());
  select_task_.BindText(2, context.id.str());
  select_task_.BindText(3, task);
  const int rc = select_task_.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return StoreFailure(db_.Error("contexts: task"));
  return Result<bool>(rc == SQLITE_ROW);
}

Result<std::uint64_t> Writer::CountContexts(const UserId& user) {
  using Out = Result<std::uint64_t>;
  Statement::ResetOnExit reset(count_contexts_);
  count_contexts_.BindText(1, user.str());
  if (count_contexts_.Step() != SQLITE_ROW) return StoreFailure(db_.Error("contexts: count"));
  return Out(static_cast<std::uint64_t>(count_contexts_.ColumnInt64(0)));
}

Result<std::optional<IdempotencyRecord>> Writer::FindIdempotencyKey(
    const std::string& key, std::chrono::system_clock::time_point now) {
  using Out = Result<std::optional<IdempotencyRecord>>;
  Statement::ResetOnExit reset(select_key_);
  select_key_.BindText(1, key);
  select_key_.BindInt64(2, ToMillis(now));
  const int rc = select_key_.Step();
  if (rc == SQLITE_DONE) return Out(std::nullopt);
  if (rc != SQLITE_ROW) return StoreFailure(db_.Error("idempotency: find"));
  IdempotencyRecord record;
  record.fingerprint = std::string(select_key_.ColumnText(0));
  record.event_ids = ParseClaimSequences(select_key_.ColumnText(1), history_);
  return Out(std::move(record));
}

Result<bool> Writer::BeginGroup(LockWait wait) {
  // Only BEGIN IMMEDIATE can wait: in WAL mode, with the write lock held, the writes and the
  // COMMIT take no other lock, and every checkpoint is PASSIVE (sqlite_checkpointer.h).
  const bool no_wait = wait == LockWait::kNoWait;
  if (no_wait) db_.SetBusyTimeout(std::chrono::milliseconds(0));
  const bool begun = Begin();
  if (no_wait) db_.SetBusyTimeout(busy_timeout_);
  if (begun) return Result<bool>(true);
  if (no_wait && (sqlite3_errcode(db_.get()) & 0xff) == SQLITE_BUSY) return Result<bool>(false);
  return StoreFailure(Abort("group: begin"));
}

void Writer::Rollback() {
  if (db_.InTransaction()) db_.Exec("ROLLBACK");
}

Result<std::vector<StoredEvent>> Writer::CommitGroup(std::span<const EventDraft> drafts,
                                                     std::span<const IdempotencyClaim> claims,
                                                     std::span<const ContextWrite> contexts,
                                                     std::chrono::system_clock::time_point now) {
  using Out = Result<std::vector<StoredEvent>>;
  touched_.clear();
  const std::int64_t stored_at_ms = ToMillis(now);
  if (const auto failed = WriteAndCommit(drafts, claims, contexts, stored_at_ms)) {
    // Forget the open transaction's sequences: the cache keeps only committed ones.
    for (auto* entry : touched_) entry->second.touched = false;
    return StoreFailure(Abort(*failed));
  }
  AdoptCommitted();
  std::vector<StoredEvent> stored;
  stored.reserve(drafts.size());
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    const EventDraft& draft = drafts[i];
    stored.push_back(StoredEvent{draft.user, EventId{history_, seq_of_[i]}, draft.protocol,
                                 draft.context, draft.type, draft.json, stored_at_ms});
  }
  return Out(std::move(stored));
}

std::optional<std::string_view> Writer::WriteAndCommit(std::span<const EventDraft> drafts,
                                                       std::span<const IdempotencyClaim> claims,
                                                       std::span<const ContextWrite> contexts,
                                                       std::int64_t stored_at_ms) {
  if (!NumberDrafts(drafts)) return "append: load user";
  OrderByUser(drafts.size());
  for (std::size_t i : order_) {
    if (!Insert(drafts[i], seq_of_[i], stored_at_ms)) return "append: insert event";
  }
  // A user's row is written once, with their first events; their last sequence is read from
  // `events` after that (sqlite_schema.cpp, version 5), so an append writes no row of `users`.
  for (auto* entry : touched_) {
    if (entry->second.has_row) continue;
    if (!RaiseFloor(entry->first, entry->second.pending_seq)) return "append: add user";
  }
  for (const IdempotencyClaim& claim : claims) {
    if (!InsertClaim(claim)) return "append: idempotency key";
  }
  for (const ContextWrite& write : contexts) {
    if (!WriteContext(write)) return "append: context";
  }
  if (!Commit()) return "append: commit";
  return std::nullopt;
}

bool Writer::NumberDrafts(std::span<const EventDraft> drafts) {
  const std::size_t count = drafts.size();
  seq_of_.resize(count);
  slot_of_.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    UserMap::value_type* entry = Load(drafts[i].user);
    if (entry == nullptr) return false;
    UserState& state = entry->second;
    if (!state.touched) {
      state.touched = true;
      state.pending_seq = state.last_seq;
      state.slot = static_cast<std::uint32_t>(touched_.size());
      touched_.push_back(entry);
    }
    seq_of_[i] = ++state.pending_seq;
    slot_of_[i] = state.slot;
  }
  return true;
}

void Writer::OrderByUser(std::size_t count) {
  slot_start_.assign(touched_.size() + 1, 0);
  for (std::uint32_t slot : slot_of_) ++slot_start_[slot + 1];
  for (std::size_t s = 1; s < slot_start_.size(); ++s) slot_start_[s] += slot_start_[s - 1];
  order_.resize(count);
  for (std::size_t i = 0; i < count; ++i) order_[slot_start_[slot_of_[i]]++] = i;
}

void Writer::AdoptCommitted() {
  for (auto* entry : touched_) {
    UserState& state = entry->second;
    state.touched = false;
    state.has_row = true;
    state.last_seq = state.pending_seq;
    if (!state.prune_candidate) {
      state.prune_candidate = true;
      prune_candidates_.push_back(entry);
    }
  }
}

}  // namespace herald::store::sqlite
