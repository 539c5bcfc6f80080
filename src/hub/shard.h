// A shard: one io_context run by one thread, owning the sessions accepted onto it and the
// registry of their subscribers (STYLE §6). Other threads reach it only by posting.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "hub/metrics.h"
#include "hub/subscriber_registry.h"

namespace herald::hub {

using DeliveryBatch = std::vector<DeliveryItem>;

class Shard {
 public:
  Shard(std::size_t index, Metrics& metrics);
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard();  // NOLINT(bugprone-exception-escape): shard.cpp says why

  std::size_t index() const { return index_; }
  boost::asio::io_context& io_context() { return io_context_; }

  // Owning shard only.
  SubscriberRegistry& registry() {
    AssertOwned();
    return registry_;
  }
  std::atomic<std::int64_t>& queued_bytes() { return metrics_.ShardQueuedBytes(index_); }

  // Thread-safe: hands the batch to this shard's thread, which dispatches it to its subscribers.
  // Batches reach the subscribers in the order they were handed over, whichever threads hand
  // them (the writer thread, or an I/O thread committing in place, this shard's own included).
  void Post(std::shared_ptr<const DeliveryBatch> batch);

  // Owning shard only. Every `period` (of real time: it only paces the check), closes
  // subscribers whose socket write has been pending for longer than `stall_limit` by `clock`'s
  // monotonic time (spec §6: a peer that stopped reading is a slow consumer). `clock` outlives
  // the shard.
  void StartWriteWatchdog(std::chrono::milliseconds period, std::chrono::milliseconds stall_limit,
                          const Clock& clock);

  // Starts the thread. Stop() lets run() return once the shard has no more work; Join() waits.
  void Start();
  void Stop();
  void Join();

  bool RunningInThisThread();
  void AssertOwned();

 private:
  void DispatchHandedOver();
  void ArmWatchdog();

  std::chrono::milliseconds watchdog_period_{0};
  std::chrono::milliseconds stall_limit_{0};
  const Clock* clock_ = nullptr;  // set with the watchdog

  const std::size_t index_;
  Metrics& metrics_;
  boost::asio::io_context io_context_{1};
  // After io_context_: a timer must be destroyed before the io_context whose service it uses.
  std::unique_ptr<boost::asio::steady_timer> watchdog_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  SubscriberRegistry registry_;
  // Batches handed over and not yet dispatched, in order. A queue of the shard's own rather than
  // one post per batch: an io_context with concurrency hint 1 holds what its own thread posts
  // until the running handler returns, so a batch another thread posted meanwhile would overtake
  // it, and its higher sequences would make the sessions skip the earlier batch as already sent.
  std::mutex handed_over_mutex_;
  std::vector<std::shared_ptr<const DeliveryBatch>> handed_over_;
  std::vector<std::shared_ptr<const DeliveryBatch>> dispatching_;  // the shard's thread only
  std::thread thread_;
};

// Every shard of the process; the writer thread posts each committed batch to all of them.
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  // Thread-safe. Called in commit order, by the thread that committed (the writer thread, or an
  // I/O thread committing in place), before the next group may commit.
  virtual void Deliver(std::shared_ptr<const DeliveryBatch> batch) = 0;
};

class ShardSet : public DeliverySink {
 public:
  ShardSet(std::size_t count, Metrics& metrics);

  std::size_t size() const { return shards_.size(); }
  Shard& operator[](std::size_t i) { return *shards_[i]; }
  // Round-robin choice for the next accepted connection. Thread rule: the accepting thread.
  Shard& Next();

  void Deliver(std::shared_ptr<const DeliveryBatch> batch) override;

  void Start();
  void Stop();
  void Join();
  // Destroys the (stopped, joined) shards, and with their io_contexts every session still
  // suspended on them: called by ~Hub while what such a session gives back on destruction (its
  // connection lease, its cluster slot) still exists.
  void Destroy() { shards_.clear(); }

 private:
  std::vector<std::unique_ptr<Shard>> shards_;
  std::size_t next_ = 0;
};

}  // namespace herald::hub
