#include "store/pg_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "store/history.h"
#include "store/pg_log.h"
#include "store/pg_nodes.h"
#include "store/pg_schema.h"

namespace herald::store {

namespace {

using pg::Rows;

std::string Text(std::int64_t value) { return std::to_string(value); }
// PostgreSQL's bigint is signed: larger counts and limits mean "no bound" and are clamped.
std::string Text(std::uint64_t value) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return std::to_string(std::min(value, kMax));
}

constexpr const char* kCountContextsSql = "SELECT count(*) FROM herald_contexts WHERE user_id = $1";

std::optional<std::string> TextOrNull(const std::optional<std::int64_t>& value) {
  if (!value) return std::nullopt;
  return Text(*value);
}

}  // namespace

// One write group: a transaction holding the log head's row lock from its first statement to
// its end (store/pg_store.h).
class PgStore::Group final : public WriteGroup {
 public:
  Group(pg::Connection& db, std::uint32_t history, std::uint64_t head, std::atomic<bool>& open)
      : db_(db), history_(history), head_(head), open_flag_(open) {}
  ~Group() override {
    if (open_) db_.Exec("ROLLBACK");
    open_flag_.store(false, std::memory_order_release);
  }
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  Result<std::optional<ContextRecord>> FindContext(const ContextKey& key) override {
    using Out = Result<std::optional<ContextRecord>>;
    static const std::string sql = fmt::format(
        "SELECT {} FROM herald_contexts WHERE user_id = $1 AND context_id = $2", kContextColumns);
    Rows rows = db_.Exec(sql.c_str(), {key.user.str(), key.id.str()});
    if (!rows.ok()) return StoreFailure("contexts: find: " + rows.error());
    if (rows.size() == 0) return Out(std::nullopt);
    return Out(pg::ContextFromRow(rows, 0));
  }

  Result<bool> TaskSeen(const ContextKey& context, const std::string& task) override {
    Rows rows = db_.Exec(
        "SELECT 1 FROM herald_context_tasks WHERE user_id = $1 AND context_id = $2 AND "
        "task_id = $3",
        {context.user.str(), context.id.str(), task});
    if (!rows.ok()) return StoreFailure("contexts: task: " + rows.error());
    return Result<bool>(rows.size() > 0);
  }

  Result<std::uint64_t> CountContexts(const UserId& user) override {
    using Out = Result<std::uint64_t>;
    Rows rows = db_.Exec(kCountContextsSql, {user.str()});
    if (!rows.ok()) return StoreFailure("contexts: count: " + rows.error());
    return Out(std::stoull(std::string(rows.Text(0, 0))));
  }

  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(
      const std::string& key, std::chrono::system_clock::time_point now) override {
    using Out = Result<std::optional<IdempotencyRecord>>;
    Rows rows = db_.Exec(
        "SELECT fingerprint, sequences FROM herald_idempotency_keys "
        "WHERE key = $1 AND expires_at_ms > $2",
        {key, Text(pg::ToMillis(now))});
    if (!rows.ok()) return StoreFailure("idempotency: find: " + rows.error());
    if (rows.size() == 0) return Out(std::nullopt);
    IdempotencyRecord record;
    record.fingerprint = std::string(rows.Text(0, 0));
    record.event_ids = ParseClaimSequences(rows.Text(0, 1), history_);
    return Out(std::move(record));
  }

  Result<std::vector<StoredEvent>> Commit(std::span<const EventDraft> drafts,
                                          std::span<const IdempotencyClaim> claims,
                                          std::span<const ContextWrite> contexts,
                                          std::chrono::system_clock::time_point now) override {
    using Out = Result<std::vector<StoredEvent>>;
    const std::int64_t stored_at_ms = pg::ToMillis(now);
    std::vector<std::uint64_t> sequences;
    if (auto error = Number(drafts, sequences)) return Fail(*error);
    if (auto error = InsertEvents(drafts, sequences, stored_at_ms)) return Fail(*error);
    for (const IdempotencyClaim& claim : claims) {
      if (auto error = InsertClaim(claim, sequences)) return Fail(*error);
    }
    for (const ContextWrite& write : contexts) {
      if (auto error = WriteContext(write)) return Fail(*error);
    }
    if (!drafts.empty()) {
      // The new head, announced to every node's relay when (and only if) this commits.
      Rows head = db_.Exec(
          "WITH h AS (UPDATE herald_log_head SET position = $1 WHERE id = 1 RETURNING position) "
          "SELECT pg_notify('herald_log', position::text) FROM h",
          {Text(head_ + drafts.size())});
      if (!head.ok()) return Fail("append: log head: " + head.error());
    }
    Rows commit = db_.Exec("COMMIT");
    open_ = false;
    if (!commit.ok() || commit.CommandTag() != "COMMIT") {
      return StoreFailure("append: commit: " + (commit.ok() ? "rolled back" : commit.error()));
    }
    std::vector<StoredEvent> stored;
    stored.reserve(drafts.size());
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      const EventDraft& draft = drafts[i];
      stored.push_back(StoredEvent{draft.user, EventId{history_, sequences[i]}, draft.protocol,
                                   draft.context, draft.type, draft.json, stored_at_ms,
                                   head_ + 1 + i});
    }
    return Out(std::move(stored));
  }

  void Opened() { open_ = true; }

 private:
  Result<std::vector<StoredEvent>> Fail(const std::string& error) {
    db_.Exec("ROLLBACK");
    open_ = false;
    return StoreFailure(error);
  }

  // Draws each draft's sequence: every user's counter moves by the user's count in one
  // statement, and the drafts take the numbers in input order.
  std::optional<std::string> Number(std::span<const EventDraft> drafts,
                                    std::vector<std::uint64_t>& sequences) {
    sequences.assign(drafts.size(), 0);
    if (drafts.empty()) return std::nullopt;
    std::unordered_map<UserId, std::size_t> slot_of_user;
    std::vector<std::uint64_t> counts;
    std::vector<std::size_t> slot_of_draft(drafts.size());
    pg::ArrayBuilder users, increments;
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      const auto [it, added] = slot_of_user.try_emplace(drafts[i].user, counts.size());
      if (added) {
        counts.push_back(0);
        users.Add(drafts[i].user.str());
      }
      slot_of_draft[i] = it->second;
      ++counts[it->second];
    }
    for (std::uint64_t count : counts) increments.Add(Text(count));
    Rows rows = db_.Exec(
        "INSERT INTO herald_users (user_id, last_seq) "
        "SELECT * FROM unnest($1::text[], $2::bigint[]) "
        "ON CONFLICT (user_id) DO UPDATE SET last_seq = herald_users.last_seq + excluded.last_seq "
        "RETURNING user_id, last_seq",
        {users.Finish(), increments.Finish()});
    if (!rows.ok()) return "append: users: " + rows.error();
    std::vector<std::uint64_t> next(counts.size(), 0);
    for (int row = 0; row < rows.size(); ++row) {
      const auto found = slot_of_user.find(UserId(std::string(rows.Text(row, 0))));
      if (found == slot_of_user.end()) return "append: users: unexpected row";
      const auto last = static_cast<std::uint64_t>(rows.Int64(row, 1));
      next[found->second] = last - counts[found->second] + 1;
    }
    for (std::size_t i = 0; i < drafts.size(); ++i) sequences[i] = next[slot_of_draft[i]]++;
    return std::nullopt;
  }

  std::optional<std::string> InsertEvents(std::span<const EventDraft> drafts,
                                          const std::vector<std::uint64_t>& sequences,
                                          std::int64_t stored_at_ms) {
    if (drafts.empty()) return std::nullopt;
    pg::ArrayBuilder positions, users, seqs, protocols, types, context_ids, payloads;
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      const EventDraft& d = drafts[i];
      positions.Add(Text(head_ + 1 + i));
      users.Add(d.user.str());
      seqs.Add(Text(sequences[i]));
      protocols.Add(Text(ProtocolCode(d.protocol)));
      types.Add(d.type);
      if (d.context) {
        context_ids.Add(d.context->str());
      } else {
        context_ids.AddNull();
      }
      payloads.Add(d.json);
    }
    Rows rows = db_.Exec(
        "INSERT INTO herald_events "
        "(position, user_id, seq, protocol, type, context_id, stored_at_ms, payload) "
        "SELECT p, u, s, r, t, c, $7, j FROM unnest($1::bigint[], $2::text[], $3::bigint[], "
        "$4::smallint[], $5::text[], $6::text[], $8::text[]) AS x(p, u, s, r, t, c, j)",
        {positions.Finish(), users.Finish(), seqs.Finish(), protocols.Finish(), types.Finish(),
         context_ids.Finish(), Text(stored_at_ms), payloads.Finish()});
    if (!rows.ok()) return "append: events: " + rows.error();
    return std::nullopt;
  }

  std::optional<std::string> InsertClaim(const IdempotencyClaim& claim,
                                         const std::vector<std::uint64_t>& sequences) {
    const std::string text =
        FormatClaimSequences(claim, [&](std::size_t draft) { return sequences[draft]; });
    Rows rows = db_.Exec(
        "INSERT INTO herald_idempotency_keys (key, fingerprint, sequences, expires_at_ms) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET fingerprint = "
        "excluded.fingerprint, sequences = excluded.sequences, expires_at_ms = "
        "excluded.expires_at_ms",
        {claim.key, claim.fingerprint, text, Text(pg::ToMillis(claim.expires_at))});
    if (!rows.ok()) return "append: idempotency key: " + rows.error();
    return std::nullopt;
  }

  std::optional<std::string> WriteContext(const ContextWrite& write) {
    const std::string user = write.key.user.str();
    const std::string id = write.key.id.str();
    if (!write.record || write.reset_tasks) {
      Rows rows = db_.Exec(
          "DELETE FROM herald_context_tasks WHERE user_id = $1 AND context_id = $2", {user, id});
      if (!rows.ok()) return "append: context tasks: " + rows.error();
    }
    if (!write.record) {
      Rows rows = db_.Exec("DELETE FROM herald_contexts WHERE user_id = $1 AND context_id = $2",
                           {user, id});
      if (!rows.ok()) return "append: context: " + rows.error();
      return std::nullopt;
    }
    const ContextRecord& r = *write.record;
    Rows upsert = db_.Exec(
        "INSERT INTO herald_contexts (context_id, user_id, name, kind, created_at_ms, "
        "updated_at_ms, task_count, message_count, last_message_at_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (user_id, context_id) DO "
        "UPDATE SET name = excluded.name, kind = excluded.kind, "
        "created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, "
        "task_count = excluded.task_count, message_count = excluded.message_count, "
        "last_message_at_ms = excluded.last_message_at_ms",
        {id, r.owner.str(), r.name, r.kind, Text(r.created_at_ms), Text(r.updated_at_ms),
         Text(r.task_count), Text(r.message_count), TextOrNull(r.last_message_at_ms)});
    if (!upsert.ok()) return "append: context: " + upsert.error();
    if (write.new_tasks.empty()) return std::nullopt;
    pg::ArrayBuilder tasks;
    for (const std::string& task : write.new_tasks) tasks.Add(task);
    Rows rows = db_.Exec(
        "INSERT INTO herald_context_tasks (user_id, context_id, task_id) "
        "SELECT $1, $2, t FROM unnest($3::text[]) AS t ON CONFLICT DO NOTHING",
        {user, id, tasks.Finish()});
    if (!rows.ok()) return "append: context tasks: " + rows.error();
    return std::nullopt;
  }

  pg::Connection& db_;
  const std::uint32_t history_;
  const std::uint64_t head_;  // the log position before this group's first event
  std::atomic<bool>& open_flag_;
  bool open_ = false;
};

// A read connection borrowed from the pool for one call, returned unless it broke.
class PgStore::Lease {
 public:
  explicit Lease(PgStore& store) : store_(store), db_(store.Borrow(error_)) {}
  ~Lease() {
    if (db_.ok()) store_.Return(std::move(db_));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  bool ok() const { return db_.ok(); }
  const std::string& error() const { return error_; }
  pg::Connection& operator*() { return db_; }

 private:
  PgStore& store_;
  std::string error_;
  pg::Connection db_;
};

PgStore::PgStore(PgStoreOptions options) : options_(std::move(options)) {
  if (auto error = writer_.Open(options_.url, "writer")) throw std::runtime_error(*error);
  history_ = pg::Migrate(writer_);
}

PgStore::~PgStore() = default;

pg::Connection* PgStore::Writer(std::string& error) {
  if (writer_.ok()) return &writer_;
  if (auto failed = writer_.Open(options_.url, "writer")) {
    error = *failed;
    return nullptr;
  }
  return &writer_;
}

std::unique_ptr<LogListener> PgStore::OpenLogListener() {
  return std::make_unique<pg::Log>(options_.url, history_);
}

std::unique_ptr<NodeRegistry> PgStore::JoinCluster() {
  // A fresh id per process: a restarted node is a new node; the old one's lease runs out.
  return std::make_unique<pg::Nodes>(options_.url,
                                     fmt::format("{:08x}{:08x}", NewHistory(), NewHistory()));
}

Result<std::unique_ptr<WriteGroup>> PgStore::BeginGroup() {
  using Out = Result<std::unique_ptr<WriteGroup>>;
  [[maybe_unused]] const bool busy = group_open_.exchange(true, std::memory_order_acquire);
  assert(!busy && "PgStore: two write groups at once");
  std::string error;
  pg::Connection* db = Writer(error);
  if (db == nullptr) {
    group_open_.store(false, std::memory_order_release);
    return StoreFailure("group: connect: " + error);
  }
  // The head's row lock is the cluster's commit order: held from here to COMMIT/ROLLBACK.
  Rows head = db->Exec("BEGIN; SELECT position FROM herald_log_head WHERE id = 1 FOR UPDATE");
  if (!head.ok() || head.size() != 1) {
    std::string message = head.ok() ? "no log head" : head.error();
    db->Exec("ROLLBACK");
    group_open_.store(false, std::memory_order_release);
    return StoreFailure("group: begin: " + message);
  }
  auto group = std::make_unique<Group>(*db, history_, static_cast<std::uint64_t>(head.Int64(0, 0)),
                                       group_open_);
  group->Opened();
  return Out(std::move(group));
}

pg::Connection PgStore::Borrow(std::string& error) {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      pg::Connection db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return db;
    }
  }
  pg::Connection db;
  if (auto failed = db.Open(options_.url, "reader")) error = *failed;
  return db;
}

void PgStore::Return(pg::Connection connection) {
  std::lock_guard lock(readers_mutex_);
  if (idle_readers_.size() < options_.max_idle_readers) {
    idle_readers_.push_back(std::move(connection));
  }
}

Result<ReplayPage> PgStore::ReadAfter(const UserId& user, std::uint64_t after_sequence,
                                      const ReplayFilter& filter, std::size_t limit) {
  using Out = Result<ReplayPage>;
  Lease db(*this);
  if (!db.ok()) return StoreFailure("replay: connect: " + db.error());
  // One row more than asked tells whether another page follows.
  static const std::string sql = fmt::format(
      "SELECT {} FROM herald_events WHERE user_id = $1 AND seq > $2 AND "
      "(($3::bigint >> protocol) & 1) = 1 AND ($4::text IS NULL OR context_id = $4) "
      "ORDER BY seq LIMIT $5",
      pg::kEventColumns);
  Rows rows = (*db).Exec(sql.c_str(),
                         {user.str(), Text(after_sequence), Text(StreamProtocolMask(filter.stream)),
                          filter.context ? std::optional(filter.context->str()) : std::nullopt,
                          Text(std::min<std::uint64_t>(limit, INT64_MAX - 1) + 1)});
  if (!rows.ok()) return StoreFailure("replay: " + rows.error());
  ReplayPage page;
  for (int row = 0; row < rows.size(); ++row) {
    if (page.events.size() == limit) {
      page.more = true;
      break;
    }
    auto event = pg::EventFromRow(rows, row, history_);
    if (!event) return StoreFailure("replay: unknown protocol code");
    page.events.push_back(std::move(*event));
  }
  return Out(std::move(page));
}

namespace {

const char* const kRangeSql =
    "SELECT COALESCE((SELECT last_seq FROM herald_users WHERE user_id = $1), 0), "
    "(SELECT min(seq) FROM herald_events WHERE user_id = $1)";

Result<UserRange> RangeFromRows(const Rows& rows) {
  if (!rows.ok() || rows.size() != 1) {
    return StoreFailure("range: " + (rows.ok() ? "no row" : rows.error()));
  }
  UserRange range;
  range.last = static_cast<std::uint64_t>(rows.Int64(0, 0));
  range.first = rows.IsNull(0, 1) ? range.last + 1 : static_cast<std::uint64_t>(rows.Int64(0, 1));
  return Result<UserRange>(range);
}

}  // namespace

Result<UserRange> PgStore::Range(const UserId& user) {
  Lease db(*this);
  if (!db.ok()) return StoreFailure("range: connect: " + db.error());
  return RangeFromRows((*db).Exec(kRangeSql, {user.str()}));
}

Result<ContextsView> PgStore::ReadContexts(const UserId& user, const ContextQuery& query) {
  using Out = Result<ContextsView>;
  Lease db(*this);
  if (!db.ok()) return StoreFailure("contexts: connect: " + db.error());
  // One snapshot for both reads: the contexts reflect exactly the events up to range.last.
  Rows begin = (*db).Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!begin.ok()) return StoreFailure("contexts: begin: " + begin.error());
  // In the list order of spec §1.3 (SortNewestFirst; "C": byte order, as SQLite and std::string).
  static const std::string sql = fmt::format(
      "SELECT {} FROM herald_contexts WHERE user_id = $1 AND ($2::text IS NULL OR context_id = "
      "$2) AND ($3::bigint IS NULL OR updated_at_ms < $3::bigint OR (updated_at_ms = $3::bigint "
      "AND context_id COLLATE \"C\" > $4::text)) ORDER BY updated_at_ms DESC, context_id "
      "COLLATE \"C\" LIMIT $5::bigint",
      kContextColumns);
  using Param = std::optional<std::string>;
  Rows contexts =
      (*db).Exec(sql.c_str(), {user.str(), query.only ? Param(query.only->str()) : std::nullopt,
                               query.after ? Param(Text(query.after->updated_at_ms)) : std::nullopt,
                               query.after ? Param(query.after->id.str()) : std::nullopt,
                               query.limit > 0 ? Param(Text(query.limit)) : std::nullopt});
  Rows count = contexts.ok()
                   ? (*db).Exec(
                         "SELECT count(*) FROM herald_contexts WHERE user_id = "
                         "$1 AND ($2::text IS NULL OR context_id = $2)",
                         {user.str(), query.only ? Param(query.only->str()) : std::nullopt})
                   : Rows();
  Rows range_rows = count.ok() ? (*db).Exec(kRangeSql, {user.str()}) : Rows();
  (*db).Exec("COMMIT");
  if (!contexts.ok()) return StoreFailure("contexts: read: " + contexts.error());
  if (!count.ok()) return StoreFailure("contexts: count: " + count.error());
  auto range = RangeFromRows(range_rows);
  if (!range.has_value()) return StoreFailure(std::move(range.error().message));
  ContextsView view;
  for (int row = 0; row < contexts.size(); ++row) {
    view.contexts.push_back(pg::ContextFromRow(contexts, row));
  }
  view.total = std::stoull(std::string(count.Text(0, 0)));
  view.range = *range;
  return Out(std::move(view));
}

Result<std::size_t> PgStore::Prune(const RetentionPolicy& policy,
                                   std::chrono::system_clock::time_point now,
                                   std::size_t max_rows) {
  using Out = Result<std::size_t>;
  if (max_rows == 0) return Out(0);
  std::string error;
  pg::Connection* db = Writer(error);
  if (db == nullptr) return StoreFailure("prune: connect: " + error);
  const auto fail = [db](const std::string& what, const Rows& rows) {
    std::string message = "prune: " + what + ": " + rows.error();
    db->Exec("ROLLBACK");
    return StoreFailure(std::move(message));
  };
  // The key spells "prune": one node prunes at a time, the others skip this pass.
  Rows lock = db->Exec("BEGIN; SELECT pg_try_advisory_xact_lock(112114117110101)");
  if (!lock.ok()) return fail("lock", lock);
  if (lock.Text(0, 0) != "t") {
    db->Exec("ROLLBACK");
    return Out(0);
  }
  const std::string limit = Text(policy.max_events_per_user);
  // Beyond the count: each user's events more than `limit` behind their last sequence.
  Rows by_count = db->Exec(
      "DELETE FROM herald_events WHERE position IN (SELECT e.position FROM herald_users u "
      "JOIN herald_events e ON e.user_id = u.user_id AND e.seq <= u.last_seq - $1::bigint "
      "WHERE u.last_seq > $1::bigint LIMIT $2)",
      {limit, Text(max_rows)});
  if (!by_count.ok()) return fail("by count", by_count);
  std::size_t deleted = by_count.Affected();
  if (deleted < max_rows) {
    // Beyond the age: from the log's oldest end, like the SQLite store.
    Rows by_age = db->Exec(
        "DELETE FROM herald_events WHERE position IN (SELECT position FROM herald_events "
        "ORDER BY position LIMIT $2) AND stored_at_ms < $1",
        {Text(pg::ToMillis(now - policy.max_age)), Text(max_rows - deleted)});
    if (!by_age.ok()) return fail("by age", by_age);
    deleted += by_age.Affected();
  }
  Rows keys = db->Exec(
      "DELETE FROM herald_idempotency_keys WHERE key IN (SELECT key FROM "
      "herald_idempotency_keys WHERE expires_at_ms <= $1 LIMIT $2)",
      {Text(pg::ToMillis(now)), Text(max_rows)});
  if (!keys.ok()) return fail("idempotency keys", keys);
  Rows commit = db->Exec("COMMIT");
  if (!commit.ok()) return fail("commit", commit);
  return Out(deleted);
}

}  // namespace herald::store
