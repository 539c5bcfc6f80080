// The cluster store (spec §7): every hub process of a cluster shares one PostgreSQL database.
//
// Write groups: a group is one transaction that first locks the log's head row
// (herald_log_head) and holds it to its commit, so groups of every node commit one at a time;
// inside it, idempotency keys and contexts are read, each user's sequences are drawn from
// herald_users, and the events get the next log positions — gapless and visible in commit
// order. The commit notifies `herald_log` with the new head, which wakes every node's relay
// (hub/relay.h) through its LogListener.
//
// Threads: groups and Prune use one writer connection (writer thread only), re-opened when it
// was lost; reads borrow a connection from a small pool and may run on any thread. Errors come
// back as Result::Fail with the server's message; only the constructor throws.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/event_store.h"
#include "store/pg_db.h"

namespace herald::store {

struct PgStoreOptions {
  std::string url;                   // postgresql://USER@HOST:PORT/DB (any libpq URI)
  std::size_t max_idle_readers = 4;  // read connections kept open between reads
};

class PgStore final : public EventStore {
 public:
  // Connects, creates or migrates the schema. Throws std::runtime_error with a one-line reason.
  explicit PgStore(PgStoreOptions options);
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  std::uint32_t History() const override { return history_; }
  Result<std::unique_ptr<WriteGroup>> BeginGroup() override;
  std::unique_ptr<LogListener> OpenLogListener() override;
  std::unique_ptr<NodeRegistry> JoinCluster() override;
  Result<ContextsView> ReadContexts(const UserId& user, const ContextQuery& query) override;
  Result<ReplayPage> ReadAfter(const UserId& user, std::uint64_t after_sequence,
                               const ReplayFilter& filter, std::size_t limit) override;
  Result<UserRange> Range(const UserId& user) override;
  // One node prunes at a time (a transaction-scoped advisory lock; the others skip the pass).
  Result<std::size_t> Prune(const RetentionPolicy& policy,
                            std::chrono::system_clock::time_point now,
                            std::size_t max_rows) override;

 private:
  class Lease;

  // The writer connection, re-opened if it was lost; nullptr (and `error`) when it cannot be.
  pg::Connection* Writer(std::string& error);
  pg::Connection Borrow(std::string& error);
  void Return(pg::Connection connection);

  const PgStoreOptions options_;
  std::uint32_t history_ = 0;
  pg::Connection writer_;
  std::atomic<bool> group_open_{false};  // debug check: one group at a time
  std::mutex readers_mutex_;
  std::vector<pg::Connection> idle_readers_;
};

}  // namespace herald::store
