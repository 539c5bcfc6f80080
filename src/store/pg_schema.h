// The PostgreSQL store's schema: versioned migrations, safe when several nodes start at once.
#pragma once

#include <cstdint>
#include <optional>

#include "core/event.h"
#include "store/columns.h"
#include "store/event_store.h"
#include "store/pg_db.h"

namespace herald::store::pg {

// The schema version this build writes.
int SchemaVersion();

// Creates or migrates the schema and returns the database's history (spec §4: one per
// database, so an id from any node resumes on any node). Nodes starting together take turns
// (a session advisory lock). Throws std::runtime_error with a one-line reason. Tests of a
// migration stop at `up_to`.
std::uint32_t Migrate(Connection& db, int up_to = SchemaVersion());

// The columns of a herald_events row in the order EventFromRow reads them.
extern const char* const kEventColumns;
// A herald_events row (columns kEventColumns, from column 0); nullopt for an unknown protocol.
std::optional<StoredEvent> EventFromRow(const Rows& rows, int row, std::uint32_t history);

// A herald_contexts row (columns kContextColumns, from column 0).
ContextRecord ContextFromRow(const Rows& rows, int row);

}  // namespace herald::store::pg
