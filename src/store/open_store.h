// Choosing and opening the event store from configuration (`--store URL`).
#pragma once

#include <memory>
#include <string>

#include "store/event_store.h"

namespace herald::store {

// How hard a commit is pushed to disk before Append() returns.
enum class Durability {
  // SQLite: WAL with synchronous=NORMAL. A commit survives the process being killed (kill -9,
  // crash); the last commits before a power loss or kernel panic may be lost, but the database
  // never corrupts. No fsync per commit (only at checkpoints), so this is the fast default.
  kNormal,
  // SQLite: WAL with synchronous=FULL. Every group commit fsyncs the WAL before Append()
  // returns, so acknowledged events also survive power loss. Costs one fsync per group commit.
  kFull,
};

struct StoreOptions {
  std::string url = "memory:";  // "memory:" or "sqlite:PATH" (PATH relative to the cwd)
  Durability durability = Durability::kNormal;
};

// Opens the store named by `options.url`, creating a SQLite file (not its directory) on first
// use. Throws std::invalid_argument with a one-line reason for an unsupported scheme or a store
// that cannot be opened (missing directory, not a database, newer schema, ...).
std::unique_ptr<EventStore> OpenStore(const StoreOptions& options);

}  // namespace herald::store
