// The SQLite store's on-disk format: schema, migrations, connection settings, column codes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/event.h"
#include "store/columns.h"
#include "store/event_store.h"
#include "store/open_store.h"
#include "store/sqlite_db.h"

namespace herald::store::sqlite {

// `PRAGMA user_version` once every migration has run.
int SchemaVersion();

// Writer connection: WAL journal (created on first open), `durability`'s synchronous level, busy
// timeout. Throws std::runtime_error (e.g. not a database, or WAL unavailable).
void ConfigureWriter(Connection& db, Durability durability, std::chrono::milliseconds busy_timeout);

// Read-only connection: busy timeout only (the journal mode is the file's).
void ConfigureReader(Connection& db, std::chrono::milliseconds busy_timeout);

// Brings the schema to SchemaVersion() (tests of a migration: to `up_to`) in one transaction,
// drawing the store's history when the file is new, and returns the history. Throws
// std::runtime_error, e.g. for a schema newer than this build.
std::uint32_t Migrate(Connection& db, int up_to = SchemaVersion());

// A `contexts` row (columns kContextColumns, from column 0).
ContextRecord ContextFromRow(const Statement& row);

}  // namespace herald::store::sqlite
