// The relay (spec §7): how one node of a cluster delivers every event committed by any node to
// its own shards exactly once, in the cluster's commit order.
//
//   other nodes' commits ──▶ PostgreSQL ──NOTIFY──▶ relay thread: LogListener::ReadAfter(cursor)
//   this node's publisher ──Deliver(batch)──────────▶ (no read when it follows the cursor)
//                                                        │ in log-position order, each once
//                                                        ▼
//                                                 ShardSet::Deliver (every shard)
//
// The relay keeps a cursor: the log position of the last event it handed to the shards.
// Positions are gapless and visible in commit order (store/pg_store.h), so a batch this node
// committed is delivered at once when it starts right after the cursor, and otherwise waits
// until the relay has read the positions before it. Rows the relay reads that a local batch
// already delivered (or will) are skipped. NOTIFY is only a wake-up: the relay also reads every
// `poll_interval`, and after any reconnect it reads from its cursor, so nothing is skipped.
//
// Threads: Deliver() is called by the writer thread; the relay thread reads the log. Both
// deliver under one mutex, so the shards receive batches in position order.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "hub/metrics.h"
#include "hub/shard.h"
#include "store/event_store.h"

namespace herald::hub {

struct RelayOptions {
  // The polling fallback: the log is read this often even without a notification.
  std::chrono::milliseconds poll_interval{1000};
  // false: no LISTEN, polling alone (e.g. behind a pooler that cannot LISTEN).
  bool listen = true;
  std::size_t page_events = 1000;
  // Reconnect back-off doubles from the first to the last value.
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

class Relay final : public DeliverySink {
 public:
  // `clock` (outlives the relay) dates what the relay reports: its lag behind the newest event
  // and how long it has been disconnected. The back-off between reconnects is a real wait.
  Relay(std::unique_ptr<store::LogListener> log, DeliverySink& shards, Metrics& metrics,
        RelayOptions options, const Clock& clock);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  ~Relay() override;

  // Connects and places the cursor at the log's head (nothing older is live for this node), then
  // starts the relay thread. Throws std::runtime_error when the database cannot be reached.
  void Start();
  // Stops the relay thread. Idempotent.
  void Stop();

  // Writer thread: a group this node committed (consecutive positions, in order).
  void Deliver(std::shared_ptr<const DeliveryBatch> batch) override;

  // Thread-safe: whether the relay's connection is up (spec §1.4: degraded when it is not).
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  // Thread-safe: the position of the last event handed to the shards.
  std::uint64_t cursor() const;

 private:
  void Run();
  bool Connect();
  // Reads and delivers until a page comes back short; false when the connection was lost.
  bool CatchUp();
  // Delivers one page read from the log, merged in position order with the local batches that
  // wait in pending_; skips what the cursor already passed.
  void DeliverPage(const std::vector<StoredEvent>& events);
  // The relay metrics after a page: events behind the log's head, and (when the page was full, so
  // more follow) the age of its newest event.
  void ReportLag(const std::vector<StoredEvent>& events, bool more);
  // Under mutex_: hands `batch`'s events after the cursor to the shards.
  void Emit(const std::shared_ptr<const DeliveryBatch>& batch);
  // Under mutex_: delivers local batches that now start at or before the cursor's next position.
  void EmitPendingUpTo(std::uint64_t position);
  void Pause(std::chrono::milliseconds duration);

  std::unique_ptr<store::LogListener> log_;
  DeliverySink& shards_;
  Metrics& metrics_;
  const RelayOptions options_;
  const Clock& clock_;

  mutable std::mutex mutex_;
  std::uint64_t cursor_ = 0;
  // Local batches waiting for earlier positions, by first position.
  std::map<std::uint64_t, std::shared_ptr<const DeliveryBatch>> pending_;

  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> head_{0};                       // the newest head announced or read
  std::chrono::steady_clock::time_point disconnected_at_{};  // relay thread only

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace herald::hub
