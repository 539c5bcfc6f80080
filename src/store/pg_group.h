// A PgStore write group (store/pg_store.h): one transaction holding the log head's row lock from
// its first statement to its end. It reads idempotency keys and contexts, draws each user's
// sequences from herald_users, inserts the events at the next log positions, writes claims and
// contexts, moves the head and notifies `herald_log`, then commits; any failure rolls back.
// Writer thread only, like the connection it runs on.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "store/event_store.h"
#include "store/pg_db.h"

namespace herald::store::pg {

// The group over `db`, whose transaction has begun and whose head row is locked at position
// `head` (the log position before the group's first event). `open_flag` is cleared when the
// group ends (PgStore's one-group-at-a-time check); a group not committed rolls back.
std::unique_ptr<WriteGroup> OpenGroup(Connection& db, std::uint32_t history, std::uint64_t head,
                                      std::atomic<bool>& open_flag);

}  // namespace herald::store::pg
