// This node's presence in a cluster (spec §6, §7: the per-user cap holds across nodes): a lease
// renewed by a heartbeat thread, and admission of each stream against every live node's count.
//
//   stream open (shard) ─ local cap ─▶ store thread: Admit ─ NodeRegistry: sum of live nodes < cap?
//   stream end (any)    ─ Slot dtor ─▶ store thread: Release
//   heartbeat thread    ─ every lease/6: renew the lease, sweep dead nodes, metrics
//
// A node killed with -9 stops renewing; once its lease runs out (`lease`, 30 s by default) its
// streams no longer count anywhere. A database error admits the stream (the node's own cap still
// holds) rather than refuse service; a failed release makes the next heartbeat rewrite this
// node's counts from the local limiter.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "hub/connection_limiter.h"
#include "hub/metrics.h"
#include "store/event_store.h"

namespace herald::hub {

class ClusterPresence {
 public:
  ClusterPresence(std::unique_ptr<store::NodeRegistry> registry, const ConnectionLimiter& limiter,
                  boost::asio::thread_pool& store_pool, Metrics& metrics, std::size_t cap,
                  std::chrono::seconds lease);
  ClusterPresence(const ClusterPresence&) = delete;
  ClusterPresence& operator=(const ClusterPresence&) = delete;
  ~ClusterPresence();

  // Registers the node (throws std::runtime_error when the database cannot be reached) and starts
  // the heartbeat thread.
  void Start();
  // Stops the heartbeat and removes the node and its counts. Idempotent.
  void Stop();

  // A counted stream; the count goes back (on a store thread) when it is destroyed.
  class Slot {
   public:
    Slot() = default;
    Slot(ClusterPresence* presence, UserId user, Stream stream)
        : presence_(presence), user_(std::move(user)), stream_(stream) {}
    Slot(Slot&& other) noexcept
        : presence_(std::exchange(other.presence_, nullptr)),
          user_(std::move(other.user_)),
          stream_(other.stream_) {}
    // Give() posts the release to the store pool: only a std::bad_alloc (copying the user id,
    // allocating the handler) can escape, and ending the process then is right, as in any
    // destructor.
    // NOLINTNEXTLINE(bugprone-exception-escape)
    Slot& operator=(Slot&& other) noexcept {
      if (this != &other) {
        Give();
        presence_ = std::exchange(other.presence_, nullptr);
        user_ = std::move(other.user_);
        stream_ = other.stream_;
      }
      return *this;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { Give(); }  // NOLINT(bugprone-exception-escape): as operator= above

   private:
    void Give() {
      if (presence_ != nullptr) std::exchange(presence_, nullptr)->Release(user_, stream_);
    }

    ClusterPresence* presence_ = nullptr;
    UserId user_;
    Stream stream_ = Stream::kAgui;
  };

  // Blocking (store threads only): a Slot when all live nodes together hold fewer than the cap
  // of `user`'s streams on `stream`; nullopt otherwise.
  std::optional<Slot> Admit(const UserId& user, Stream stream);

  const std::string& node() const { return registry_->node(); }

 private:
  // Thread-safe: posts the release to a store thread.
  void Release(const UserId& user, Stream stream);
  bool Beat();
  void Run();

  std::unique_ptr<store::NodeRegistry> registry_;
  const ConnectionLimiter& limiter_;
  boost::asio::thread_pool& store_pool_;
  Metrics& metrics_;
  const std::size_t cap_;
  const std::chrono::seconds lease_;
  std::atomic<bool> rewrite_{false};  // a release failed: rewrite this node's counts

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace herald::hub
