// The hub: shards, connection caps, the write path and the store, wired together. The HTTP
// layer talks to this; it knows nothing of HTTP.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "core/clock.h"
#include "hub/cluster_presence.h"
#include "hub/connection_limiter.h"
#include "hub/metrics.h"
#include "hub/metrics_history.h"
#include "hub/outbox.h"
#include "hub/publisher.h"
#include "hub/relay.h"
#include "hub/shard.h"
#include "store/event_store.h"

namespace herald::hub {

struct HubOptions {
  std::size_t threads = 1;
  std::size_t max_connections_per_user = 10;
  OutboxLimits outbox;
  PublisherOptions publisher;
  RelayOptions relay;  // used when the store is shared by a cluster
  // How long a cluster node that stops renewing (killed, cut off) still counts its streams.
  std::chrono::seconds cluster_lease{30};
  std::size_t store_read_threads = 2;
  std::chrono::milliseconds write_stall_limit{30'000};
  // The dashboard's charts (hub/metrics_history.h): a sample of the metrics this often, the
  // newest this many kept (5 minutes at the defaults).
  std::chrono::milliseconds metrics_sample_interval{1'000};
  std::size_t metrics_history_samples = 300;
};

class Hub {
 public:
  // `clock` outlives the hub.
  Hub(HubOptions options, store::EventStore& store, Metrics& metrics, const Clock& clock);
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;
  ~Hub();

  const HubOptions& options() const { return options_; }
  ShardSet& shards() { return shards_; }
  ConnectionLimiter& limiter() { return limiter_; }
  Publisher& publisher() { return publisher_; }
  // The cluster relay, or nullptr when this process is the store's only writer.
  const Relay* relay() const { return relay_.get(); }
  // The cluster-wide per-user cap, or nullptr when this process is alone.
  ClusterPresence* cluster() { return cluster_.get(); }
  store::EventStore& store() { return store_; }  // the composition root and tests

  // Blocking store reads for the HTTP layer, which runs them on store_pool(), never on a shard.
  // Thread-safe.
  std::uint32_t History() const { return store_.History(); }
  // The user's event range and, with `contexts`, the contexts it selects, from one snapshot of
  // the store.
  Result<store::ContextsView> ReadView(const UserId& user,
                                       const std::optional<store::ContextQuery>& contexts);
  Result<store::ReplayPage> ReadAfter(const UserId& user, std::uint64_t after_sequence,
                                      const store::ReplayFilter& filter, std::size_t limit);
  // Whether the store answers a read (the health probe).
  bool StoreAnswers();
  Metrics& metrics() { return metrics_; }
  // The last minutes of metrics, sampled every options().metrics_sample_interval. Thread-safe.
  const MetricsHistory& metrics_history() const { return metrics_history_; }
  const Clock& clock() const { return clock_; }
  std::chrono::system_clock::time_point Now() const { return clock_.Now(); }
  // Blocking store reads run here, never on a shard thread.
  boost::asio::thread_pool& store_pool() { return store_pool_; }

  // Thread-safe.
  ConnectionId NextConnectionId() { return ConnectionId(next_connection_id_.fetch_add(1) + 1); }

  // Starts shards, the relay (throws std::runtime_error when a cluster store is unreachable)
  // and the publisher.
  void Start();

  // Thread-safe. Ends every stream of `user` (admin), or of everyone (drain), for `reason`.
  void DisconnectUser(const UserId& user, DisconnectReason reason);
  void DisconnectAll(DisconnectReason reason);

  // Stops the write path (storing what was accepted), then the shards. Idempotent.
  void Stop();

 private:
  HubOptions options_;
  store::EventStore& store_;
  Metrics& metrics_;
  const Clock& clock_;
  ShardSet shards_;
  ConnectionLimiter limiter_;
  std::unique_ptr<Relay> relay_;  // a cluster store only: the publisher delivers through it
  Publisher publisher_;
  // Before the pool: releases posted to the pool use it until the pool has joined.
  std::unique_ptr<ClusterPresence> cluster_;  // a cluster store only
  boost::asio::thread_pool store_pool_;
  std::atomic<std::uint64_t> next_connection_id_{0};
  MetricsHistory metrics_history_;
  // On shard 0's io_context; created and re-armed there, destroyed by Stop once shards joined.
  std::unique_ptr<boost::asio::steady_timer> sampler_;
  bool stopped_ = false;

  void ArmSampler();
};

}  // namespace herald::hub
