#include "store/sqlite_readers.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "store/sqlite_db.h"
#include "store/sqlite_schema.h"

namespace herald::store::sqlite {

namespace {

constexpr std::uint64_t kMaxSeq = std::numeric_limits<std::int64_t>::max();
// Up to this many events are reserved at once: a full default replay page without regrowth.
constexpr std::size_t kMaxReserve = 10'000;

// The protocol mask (?3) applies StreamCarries; the primary key serves the seq range in order.
constexpr const char* kReadAfterSql =
    "SELECT seq, protocol, type, context_id, stored_at_ms, payload FROM events "
    "WHERE user_id = ?1 AND seq > ?2 AND ((?3 >> protocol) & 1) "
    "AND (?4 IS NULL OR context_id = ?4) ORDER BY seq LIMIT ?5";

// One statement, so both numbers come from the same snapshot. users.last_seq is a floor
// (sqlite_schema.cpp, version 5): the last sequence is the larger of it and the newest event's.
constexpr const char* kRangeSql =
    "SELECT max(last_seq, coalesce((SELECT MAX(seq) FROM events WHERE user_id = ?1), 0)), "
    "(SELECT MIN(seq) FROM events WHERE user_id = ?1) FROM users WHERE user_id = ?1";

// The user's contexts in the list order of spec §1.3 (SortNewestFirst): ?2 NULL or that one
// alone; ?3 NULL or those after the position (?3 updated_at_ms, ?4 id); at most ?5 (-1: all).
std::string ContextsSql() {
  return fmt::format(
      "SELECT {} FROM contexts WHERE user_id = ?1 AND (?2 IS NULL OR context_id = ?2) "
      "AND (?3 IS NULL OR updated_at_ms < ?3 OR (updated_at_ms = ?3 AND context_id > ?4)) "
      "ORDER BY updated_at_ms DESC, context_id LIMIT ?5",
      kContextColumns);
}

// ?1 the user, ?2 the one context a contexts query is limited to (NULL: all of them).
void BindUserAndOnly(Statement& statement, const UserId& user,
                     const std::optional<ContextId>& only) {
  statement.BindText(1, user.str());
  if (only) {
    statement.BindText(2, only->str());
  } else {
    statement.BindNull(2);
  }
}

constexpr const char* kCountContextsSql =
    "SELECT count(*) FROM contexts WHERE user_id = ?1 AND (?2 IS NULL OR context_id = ?2)";

}  // namespace

struct Readers::Reader {
  Connection db;
  Statement read_after;
  Statement range;
  Statement contexts;
  Statement count_contexts;
  Statement begin;
  Statement commit;

  Reader(const std::string& path, std::chrono::milliseconds busy_timeout)
      : db(path, SQLITE_OPEN_READONLY) {
    ConfigureReader(db, busy_timeout);
    read_after = db.Prepare(kReadAfterSql);
    range = db.Prepare(kRangeSql);
    contexts = db.Prepare(ContextsSql().c_str());
    count_contexts = db.Prepare(kCountContextsSql);
    begin = db.Prepare("BEGIN");
    commit = db.Prepare("COMMIT");
  }
};

// A connection taken from the pool for one call, returned when the call ends.
class Readers::Lease {
 public:
  explicit Lease(Readers& readers) : readers_(readers), reader_(readers.Take()) {}
  ~Lease() { readers_.Return(std::move(reader_)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  Reader& operator*() const { return *reader_; }

 private:
  Readers& readers_;
  std::unique_ptr<Reader> reader_;
};

Readers::Readers(std::string path, std::chrono::milliseconds busy_timeout, std::size_t max_idle,
                 std::uint32_t history)
    : path_(std::move(path)), busy_timeout_(busy_timeout), max_idle_(max_idle), history_(history) {
  idle_.push_back(Open());
}

Readers::~Readers() = default;

std::unique_ptr<Readers::Reader> Readers::Open() const {
  return std::make_unique<Reader>(path_, busy_timeout_);
}

std::unique_ptr<Readers::Reader> Readers::Take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Reader> reader = std::move(idle_.back());
      idle_.pop_back();
      return reader;
    }
  }
  return Open();  // outside the lock: opening touches the file
}

void Readers::Return(std::unique_ptr<Reader> reader) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(reader));
}

void Readers::ReleaseMemory() {
  std::vector<std::unique_ptr<Reader>> closing;
  {
    std::lock_guard lock(mutex_);
    while (idle_.size() > 1) {
      closing.push_back(std::move(idle_.back()));
      idle_.pop_back();
    }
    for (const std::unique_ptr<Reader>& reader : idle_) reader->db.ReleaseMemory();
  }
  // `closing` closes here, outside the lock.
}

Result<ReplayPage> Readers::ReadAfter(const UserId& user, std::uint64_t after_sequence,
                                      const ReplayFilter& filter, std::size_t limit) {
  using Out = Result<ReplayPage>;
  ReplayPage page;
  if (after_sequence >= kMaxSeq) return Out(std::move(page));
  page.events.reserve(std::min<std::size_t>(limit, kMaxReserve));
  // One row beyond the limit tells whether another page follows.
  const std::uint64_t fetch = std::min<std::uint64_t>(limit, kMaxSeq - 1) + 1;
  try {
    Lease lease(*this);
    Reader& reader = *lease;
    Statement& query = reader.read_after;
    Statement::ResetOnExit reset(query);
    query.BindText(1, user.str());
    query.BindInt64(2, static_cast<std::int64_t>(after_sequence));
    query.BindInt64(3, StreamProtocolMask(filter.stream));
    if (filter.context) {
      query.BindText(4, filter.context->str());
    } else {
      query.BindNull(4);
    }
    query.BindInt64(5, static_cast<std::int64_t>(fetch));
    int rc = SQLITE_OK;
    while ((rc = query.Step()) == SQLITE_ROW) {
      if (page.events.size() == limit) {
        page.more = true;
        break;
      }
      const std::optional<Protocol> protocol = ProtocolFromCode(query.ColumnInt64(1));
      if (!protocol) {
        return StoreFailure(fmt::format("read: unknown protocol code {} for user {}",
                                        query.ColumnInt64(1), user.str()));
      }
      StoredEvent& event = page.events.emplace_back();
      event.user = user;
      event.id = EventId{history_, static_cast<std::uint64_t>(query.ColumnInt64(0))};
      event.protocol = *protocol;
      if (!query.ColumnIsNull(3)) event.context = ContextId(std::string(query.ColumnText(3)));
      event.type = query.ColumnText(2);
      event.stored_at_ms = query.ColumnInt64(4);
      event.json = query.ColumnText(5);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return StoreFailure(reader.db.Error("read events"));
    return Out(std::move(page));
  } catch (const std::exception& error) {  // a new connection could not be opened
    return StoreFailure(error.what());
  }
}

Result<UserRange> Readers::ReadRange(Reader& reader, const UserId& user) {
  using Out = Result<UserRange>;
  Statement& query = reader.range;
  Statement::ResetOnExit reset(query);
  query.BindText(1, user.str());
  const int rc = query.Step();
  if (rc == SQLITE_DONE) return Out(UserRange{});
  if (rc != SQLITE_ROW) return StoreFailure(reader.db.Error("read range"));
  UserRange range;
  range.last = static_cast<std::uint64_t>(query.ColumnInt64(0));
  range.first =
      query.ColumnIsNull(1) ? range.last + 1 : static_cast<std::uint64_t>(query.ColumnInt64(1));
  return Out(range);
}

Result<UserRange> Readers::Range(const UserId& user) {
  try {
    Lease lease(*this);
    return ReadRange(*lease, user);
  } catch (const std::exception& error) {
    return StoreFailure(error.what());
  }
}

Result<ContextsView> Readers::ReadContexts(const UserId& user, const ContextQuery& selection) {
  using Out = Result<ContextsView>;
  try {
    Lease lease(*this);
    Reader& reader = *lease;
    // One read transaction: both reads see the same commit (WAL snapshot).
    {
      Statement::ResetOnExit reset(reader.begin);
      if (reader.begin.Step() != SQLITE_DONE)
        return StoreFailure(reader.db.Error("contexts: begin"));
    }
    const auto fail = [&reader](std::string_view what) {
      std::string error = reader.db.Error(what);
      if (reader.db.InTransaction()) reader.db.Exec("ROLLBACK");
      return StoreFailure(std::move(error));
    };
    ContextsView view;
    {
      Statement& query = reader.contexts;
      Statement::ResetOnExit reset(query);
      BindUserAndOnly(query, user, selection.only);
      if (selection.after) {
        query.BindInt64(3, selection.after->updated_at_ms);
        query.BindText(4, selection.after->id.str());
      } else {
        query.BindNull(3);
        query.BindNull(4);
      }
      query.BindInt64(5, selection.limit == 0 ? -1 : static_cast<std::int64_t>(selection.limit));
      int rc = SQLITE_OK;
      while ((rc = query.Step()) == SQLITE_ROW) view.contexts.push_back(ContextFromRow(query));
      if (rc != SQLITE_DONE) return fail("contexts: read");
    }
    {
      Statement& count = reader.count_contexts;
      Statement::ResetOnExit reset(count);
      BindUserAndOnly(count, user, selection.only);
      if (count.Step() != SQLITE_ROW) return fail("contexts: count");
      view.total = static_cast<std::uint64_t>(count.ColumnInt64(0));
    }
    auto range = ReadRange(reader, user);
    if (!range.has_value()) {
      if (reader.db.InTransaction()) reader.db.Exec("ROLLBACK");
      return StoreFailure(std::move(range.error().message));
    }
    view.range = *range;
    {
      Statement::ResetOnExit reset(reader.commit);
      if (reader.commit.Step() != SQLITE_DONE) return fail("contexts: end");
    }
    return Out(std::move(view));
  } catch (const std::exception& error) {
    return StoreFailure(error.what());
  }
}

}  // namespace herald::store::sqlite
