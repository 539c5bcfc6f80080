#include "store/pg_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>
#include <stdexcept>

#include "store/history.h"
#include "store/pg_group.h"
#include "store/pg_log.h"
#include "store/pg_nodes.h"
#include "store/pg_schema.h"

namespace herald::store {

namespace {

using pg::Rows;
using pg::Text;

}  // namespace

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
  return Out(
      pg::OpenGroup(*db, history_, static_cast<std::uint64_t>(head.Int64(0, 0)), group_open_));
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
