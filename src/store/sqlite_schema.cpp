#include "store/sqlite_schema.h"

#include <fmt/format.h>

#include <array>
#include <stdexcept>
#include <string>

#include "store/history.h"

namespace herald::store::sqlite {

namespace {

// Ordered migrations: step i takes user_version from i to i + 1. Append new steps, never edit
// an old one; every step runs inside the one migration transaction.
constexpr std::array kMigrations = {
    // 1: the event log.
    R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value NOT NULL
) WITHOUT ROWID;

-- One row per user who ever had an event: last_seq outlives pruning, so a user's sequences
-- keep increasing after all their events are gone and across restarts.
CREATE TABLE users (
  user_id  TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- The log in commit order: appends go to the end of the table whichever users they belong to,
-- so a group commit dirties few pages however many users it spans; a user's replay walks
-- events_by_user. Within a group, a user's events are inserted side by side.
-- id order is also age order (stored_at_ms follows it while the clock does not step back), so
-- age pruning walks the table from its head and needs no index of its own.
-- protocol: 0 = agui, 1 = a2a, 2 = system. payload: compact JSON as delivered.
CREATE TABLE events (
  id           INTEGER PRIMARY KEY,
  user_id      TEXT    NOT NULL,
  seq          INTEGER NOT NULL,
  protocol     INTEGER NOT NULL,
  type         TEXT    NOT NULL,
  context_id   TEXT,
  stored_at_ms INTEGER NOT NULL,
  payload      TEXT    NOT NULL
);
CREATE UNIQUE INDEX events_by_user ON events (user_id, seq);
)sql",
    // 2: Idempotency-Key records, written in the transaction of the events they name.
    R"sql(
CREATE TABLE idempotency_keys (
  key           TEXT PRIMARY KEY,   -- scoped: user, route, header value
  fingerprint   TEXT NOT NULL,      -- of the request body
  sequences     TEXT NOT NULL,      -- the request's event sequences, comma-separated
  expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at_ms);
)sql",
    // 3: contexts with their statistics, and the task ids task_count counts. Written in the
    // transaction of the events that change them: a read of a user's contexts and range in one
    // transaction is a snapshot consistent with the stream (spec §4).
    R"sql(
CREATE TABLE contexts (
  context_id         TEXT    PRIMARY KEY,
  user_id            TEXT    NOT NULL,
  name               TEXT    NOT NULL,
  kind               TEXT    NOT NULL,
  created_at_ms      INTEGER NOT NULL,
  updated_at_ms      INTEGER NOT NULL,
  task_count         INTEGER NOT NULL,
  message_count      INTEGER NOT NULL,
  last_message_at_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX contexts_by_user ON contexts (user_id, updated_at_ms);
CREATE TABLE context_tasks (
  context_id TEXT NOT NULL,
  task_id    TEXT NOT NULL,
  PRIMARY KEY (context_id, task_id)
) WITHOUT ROWID;
)sql",
    // 4: a context id is scoped to its user (issue 14): two users who use the same id have two
    // contexts. Ids were unique across users until now, so every row keeps its owner.
    R"sql(
CREATE TABLE contexts_v4 (
  user_id            TEXT    NOT NULL,
  context_id         TEXT    NOT NULL,
  name               TEXT    NOT NULL,
  kind               TEXT    NOT NULL,
  created_at_ms      INTEGER NOT NULL,
  updated_at_ms      INTEGER NOT NULL,
  task_count         INTEGER NOT NULL,
  message_count      INTEGER NOT NULL,
  last_message_at_ms INTEGER,
  PRIMARY KEY (user_id, context_id)
) WITHOUT ROWID;
INSERT INTO contexts_v4
  SELECT user_id, context_id, name, kind, created_at_ms, updated_at_ms, task_count,
         message_count, last_message_at_ms
  FROM contexts;
CREATE TABLE context_tasks_v4 (
  user_id    TEXT NOT NULL,
  context_id TEXT NOT NULL,
  task_id    TEXT NOT NULL,
  PRIMARY KEY (user_id, context_id, task_id)
) WITHOUT ROWID;
INSERT INTO context_tasks_v4
  SELECT c.user_id, t.context_id, t.task_id
  FROM context_tasks t JOIN contexts c ON c.context_id = t.context_id;
DROP TABLE context_tasks;
DROP TABLE contexts;
ALTER TABLE contexts_v4 RENAME TO contexts;
ALTER TABLE context_tasks_v4 RENAME TO context_tasks;
CREATE INDEX contexts_by_user ON contexts (user_id, updated_at_ms);
)sql",
    // 5: users.last_seq becomes a floor (issue 15): a user's row is written with their first
    // event and then only when pruning deletes their newest one; their last sequence is the
    // larger of it and the newest event's. Every version-4 row was exact, so it is a valid
    // floor; the step changes no data, only the version, so that an older build, which would
    // take the floor for the last sequence and hand out used ones again, refuses the file.
    R"sql(
-- no statements
)sql",
};

int UserVersion(Connection& db) {
  Statement statement = db.Prepare("PRAGMA user_version");
  if (statement.Step() != SQLITE_ROW) throw std::runtime_error(db.Error("read schema version"));
  return static_cast<int>(statement.ColumnInt64(0));
}

std::uint32_t ReadOrCreateHistory(Connection& db) {
  Statement insert = db.Prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('history', ?1)");
  insert.BindInt64(1, NewHistory());
  if (insert.Step() != SQLITE_DONE) throw std::runtime_error(db.Error("create history"));
  Statement select = db.Prepare("SELECT value FROM meta WHERE key = 'history'");
  if (select.Step() != SQLITE_ROW) throw std::runtime_error(db.Error("read history"));
  const std::int64_t history = select.ColumnInt64(0);
  if (history <= 0 || history > UINT32_MAX) {
    throw std::runtime_error(fmt::format("corrupt history {} in meta table", history));
  }
  return static_cast<std::uint32_t>(history);
}

}  // namespace

int SchemaVersion() { return static_cast<int>(kMigrations.size()); }

void ConfigureWriter(Connection& db, Durability durability,
                     std::chrono::milliseconds busy_timeout) {
  db.SetBusyTimeout(busy_timeout);
  Statement journal = db.Prepare("PRAGMA journal_mode = WAL");
  if (journal.Step() != SQLITE_ROW) throw std::runtime_error(db.Error("enable WAL"));
  if (journal.ColumnText(0) != "wal") {
    throw std::runtime_error(
        fmt::format("enable WAL: journal mode stayed '{}'", journal.ColumnText(0)));
  }
  journal.Reset();
  db.ExecOrThrow(
      durability == Durability::kFull ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
      "set synchronous");
  db.ExecOrThrow("PRAGMA temp_store = MEMORY", "set temp_store");
  // After a burst, checkpoints truncate the WAL file back to this size rather than keep it.
  db.ExecOrThrow("PRAGMA journal_size_limit = 67108864", "set journal_size_limit");
}

void ConfigureReader(Connection& db, std::chrono::milliseconds busy_timeout) {
  db.SetBusyTimeout(busy_timeout);
}

std::uint32_t Migrate(Connection& db, int up_to) {
  db.ExecOrThrow("BEGIN IMMEDIATE", "begin migration");
  try {
    const int from = UserVersion(db);
    if (from > SchemaVersion()) {
      throw std::runtime_error(
          fmt::format("schema version {} is newer than this build's {}", from, SchemaVersion()));
    }
    for (int step = from; step < up_to; ++step) {
      db.ExecOrThrow(kMigrations[static_cast<std::size_t>(step)],
                     fmt::format("migrate to schema version {}", step + 1));
    }
    if (from < up_to) {
      db.ExecOrThrow(fmt::format("PRAGMA user_version = {}", up_to).c_str(), "set schema version");
    }
    const std::uint32_t history = ReadOrCreateHistory(db);
    db.ExecOrThrow("COMMIT", "commit migration");
    return history;
  } catch (...) {
    if (db.InTransaction()) db.Exec("ROLLBACK");
    throw;
  }
}

ContextRecord ContextFromRow(const Statement& row) {
  ContextRecord record;
  record.id = ContextId(std::string(row.ColumnText(0)));
  record.owner = UserId(std::string(row.ColumnText(1)));
  record.name = row.ColumnText(2);
  record.kind = row.ColumnText(3);
  record.created_at_ms = row.ColumnInt64(4);
  record.updated_at_ms = row.ColumnInt64(5);
  record.task_count = static_cast<std::uint64_t>(row.ColumnInt64(6));
  record.message_count = static_cast<std::uint64_t>(row.ColumnInt64(7));
  if (!row.ColumnIsNull(8)) record.last_message_at_ms = row.ColumnInt64(8);
  return record;
}

}  // namespace herald::store::sqlite
