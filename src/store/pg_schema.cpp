#include "store/pg_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "store/history.h"

namespace herald::store::pg {

namespace {

// The advisory lock key nodes take while migrating ("herald" in ASCII).
constexpr const char* kMigrationLock = "SELECT pg_advisory_lock(104101114097108100)";
constexpr const char* kMigrationUnlock = "SELECT pg_advisory_unlock(104101114097108100)";

// Ordered migrations: step i takes the schema from version i to i + 1. Append new steps, never
// edit an old one; each step runs in the migration transaction. Tables carry a herald_ prefix
// so that the schema can share a database with others.
constexpr std::array kMigrations = {
    // 1: the log, users' sequences, idempotency keys, contexts.
    R"sql(
CREATE TABLE herald_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
-- The log's head: the position of the newest committed event. A write group locks this row
-- first and holds it to its commit, so positions are drawn in commit order and are gapless.
CREATE TABLE herald_log_head (
  id       integer PRIMARY KEY CHECK (id = 1),
  position bigint  NOT NULL
);
INSERT INTO herald_log_head (id, position) VALUES (1, 0);
-- last_seq outlives pruning, so a user's sequences keep increasing after their events are gone.
CREATE TABLE herald_users (
  user_id  text   PRIMARY KEY,
  last_seq bigint NOT NULL
);
-- protocol: 0 = agui, 1 = a2a, 2 = system. payload: compact JSON as delivered.
CREATE TABLE herald_events (
  position     bigint   PRIMARY KEY,
  user_id      text     NOT NULL,
  seq          bigint   NOT NULL,
  protocol     smallint NOT NULL,
  type         text     NOT NULL,
  context_id   text,
  stored_at_ms bigint   NOT NULL,
  payload      text     NOT NULL,
  UNIQUE (user_id, seq)
);
CREATE TABLE herald_idempotency_keys (
  key           text   PRIMARY KEY,
  fingerprint   text   NOT NULL,
  sequences     text   NOT NULL,
  expires_at_ms bigint NOT NULL
);
CREATE INDEX herald_idempotency_keys_by_expiry ON herald_idempotency_keys (expires_at_ms);
CREATE TABLE herald_contexts (
  context_id         text   PRIMARY KEY,
  user_id            text   NOT NULL,
  name               text   NOT NULL,
  kind               text   NOT NULL,
  created_at_ms      bigint NOT NULL,
  updated_at_ms      bigint NOT NULL,
  task_count         bigint NOT NULL,
  message_count      bigint NOT NULL,
  last_message_at_ms bigint
);
CREATE INDEX herald_contexts_by_user ON herald_contexts (user_id, updated_at_ms);
CREATE TABLE herald_context_tasks (
  context_id text NOT NULL,
  task_id    text NOT NULL,
  PRIMARY KEY (context_id, task_id)
);
)sql",
    // 2: live nodes and their streams per user and stream (the cluster-wide per-user cap).
    R"sql(
CREATE TABLE herald_nodes (
  node_id    text        PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
-- stream: 0 = agui, 1 = a2a, 2 = contexts.
CREATE TABLE herald_connections (
  node_id text     NOT NULL,
  user_id text     NOT NULL,
  stream  smallint NOT NULL,
  count   integer  NOT NULL,
  PRIMARY KEY (user_id, stream, node_id)
);
CREATE INDEX herald_connections_by_node ON herald_connections (node_id);
)sql",
    // 3: a context id is scoped to its user (issue 14): two users who use the same id have two
    // contexts. Ids were unique across users until now, so every row keeps its owner.
    R"sql(
ALTER TABLE herald_context_tasks ADD COLUMN user_id text;
UPDATE herald_context_tasks t SET user_id = c.user_id
  FROM herald_contexts c WHERE c.context_id = t.context_id;
DELETE FROM herald_context_tasks WHERE user_id IS NULL;
ALTER TABLE herald_context_tasks ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE herald_context_tasks DROP CONSTRAINT herald_context_tasks_pkey;
ALTER TABLE herald_context_tasks ADD PRIMARY KEY (user_id, context_id, task_id);
ALTER TABLE herald_contexts DROP CONSTRAINT herald_contexts_pkey;
ALTER TABLE herald_contexts ADD PRIMARY KEY (user_id, context_id);
)sql",
};

void ExecOrThrow(Connection& db, const char* sql, std::string_view what) {
  Rows rows = db.Exec(sql);
  if (!rows.ok()) throw std::runtime_error(fmt::format("{}: {}", what, rows.error()));
}

int CurrentVersion(Connection& db) {
  Rows exists = db.Exec("SELECT to_regclass('herald_meta') IS NOT NULL");
  if (!exists.ok()) throw std::runtime_error("read schema version: " + exists.error());
  if (exists.Text(0, 0) != "t") return 0;
  Rows version = db.Exec("SELECT value FROM herald_meta WHERE key = 'schema_version'");
  if (!version.ok()) throw std::runtime_error("read schema version: " + version.error());
  return version.size() == 0 ? 0 : static_cast<int>(version.Int64(0, 0));
}

std::uint32_t ReadOrCreateHistory(Connection& db) {
  Rows insert = db.Exec(
      "INSERT INTO herald_meta (key, value) VALUES ('history', $1) ON CONFLICT (key) DO NOTHING",
      {std::to_string(NewHistory())});
  if (!insert.ok()) throw std::runtime_error("create history: " + insert.error());
  Rows select = db.Exec("SELECT value FROM herald_meta WHERE key = 'history'");
  if (!select.ok() || select.size() != 1) throw std::runtime_error("read history");
  const std::int64_t history = select.Int64(0, 0);
  if (history <= 0 || history > UINT32_MAX) {
    throw std::runtime_error(fmt::format("corrupt history {} in herald_meta", history));
  }
  return static_cast<std::uint32_t>(history);
}

std::uint32_t MigrateLocked(Connection& db, int up_to) {
  ExecOrThrow(db, "BEGIN", "begin migration");
  try {
    const int from = CurrentVersion(db);
    if (from > SchemaVersion()) {
      throw std::runtime_error(
          fmt::format("schema version {} is newer than this build's {}", from, SchemaVersion()));
    }
    for (int step = from; step < up_to; ++step) {
      ExecOrThrow(db, kMigrations[static_cast<std::size_t>(step)],
                  fmt::format("migrate to schema version {}", step + 1));
    }
    Rows version = db.Exec(
        "INSERT INTO herald_meta (key, value) VALUES ('schema_version', $1) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        {std::to_string(std::max(from, up_to))});
    if (!version.ok()) throw std::runtime_error("set schema version: " + version.error());
    const std::uint32_t history = ReadOrCreateHistory(db);
    ExecOrThrow(db, "COMMIT", "commit migration");
    return history;
  } catch (...) {
    db.Exec("ROLLBACK");
    throw;
  }
}

}  // namespace

int SchemaVersion() { return static_cast<int>(kMigrations.size()); }

std::uint32_t Migrate(Connection& db, int up_to) {
  ExecOrThrow(db, kMigrationLock, "lock for migration");
  try {
    const std::uint32_t history = MigrateLocked(db, up_to);
    db.Exec(kMigrationUnlock);
    return history;
  } catch (...) {
    db.Exec(kMigrationUnlock);
    throw;
  }
}

const char* const kEventColumns =
    "position, user_id, seq, protocol, type, context_id, stored_at_ms, payload";

std::optional<StoredEvent> EventFromRow(const Rows& rows, int row, std::uint32_t history) {
  const auto protocol = ProtocolFromCode(rows.Int64(row, 3));
  if (!protocol) return std::nullopt;
  StoredEvent event{UserId(std::string(rows.Text(row, 1))),
                    EventId{history, static_cast<std::uint64_t>(rows.Int64(row, 2))},
                    *protocol,
                    std::nullopt,
                    std::string(rows.Text(row, 4)),
                    std::string(rows.Text(row, 7)),
                    rows.Int64(row, 6),
                    static_cast<std::uint64_t>(rows.Int64(row, 0))};
  if (!rows.IsNull(row, 5)) event.context = ContextId(std::string(rows.Text(row, 5)));
  return event;
}

ContextRecord ContextFromRow(const Rows& rows, int row) {
  ContextRecord record;
  record.id = ContextId(std::string(rows.Text(row, 0)));
  record.owner = UserId(std::string(rows.Text(row, 1)));
  record.name = rows.Text(row, 2);
  record.kind = rows.Text(row, 3);
  record.created_at_ms = rows.Int64(row, 4);
  record.updated_at_ms = rows.Int64(row, 5);
  record.task_count = static_cast<std::uint64_t>(rows.Int64(row, 6));
  record.message_count = static_cast<std::uint64_t>(rows.Int64(row, 7));
  if (!rows.IsNull(row, 8)) record.last_message_at_ms = rows.Int64(row, 8);
  return record;
}

}  // namespace herald::store::pg
