// Operator-facing counters (spec §7), rendered in the Prometheus text format.
//
// Thread rule: every method is thread-safe. Counters are relaxed atomics; the per-type table
// takes a mutex that only the writer thread and the scraper contend for.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "core/event.h"
#include "hub/byte_budget.h"
#include "hub/rate_limiter.h"

namespace herald::hub {

// Why a stream ended (spec §7).
enum class DisconnectReason : std::uint8_t {
  kClientGone,
  kSlowConsumer,
  kAuthExpired,
  kDrain,
  kAdmin,
  kError,
};
inline constexpr int kDisconnectReasonCount = 6;
std::string_view DisconnectReasonName(DisconnectReason reason);

// Upper bounds of the publish latency histogram's buckets (a last one, +Inf, follows).
inline constexpr std::array<double, 12> kLatencyBucketsSeconds = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

// The counters and gauges the dashboard's charts are drawn from (hub/metrics_history.h), read at
// one moment.
struct MetricsTotals {
  std::uint64_t published = 0;  // events stored, all protocols and types
  std::uint64_t delivered = 0;  // frames queued to subscribers
  std::array<std::int64_t, kStreamCount> open{};
  std::array<std::uint64_t, kLatencyBucketsSeconds.size() + 1> latency_buckets{};  // not cumulative
};

class Metrics {
 public:
  void ConnectionOpened(Stream stream);
  // A stream ended (counted by reason when it happens) and, maybe later, its connection closed
  // (the open-connections gauge, once nothing more is written to it).
  void StreamEnded(DisconnectReason reason);
  void ConnectionClosed(Stream stream);
  void ConnectionRejectedByCap(Stream stream);
  void EventStored(Protocol protocol, const std::string& type);
  void Delivered(std::uint64_t frames);
  void PublishLatency(std::chrono::steady_clock::duration latency);
  void PublishRejected();  // back-pressure 503
  void RateLimited(RateLimitKind kind);
  // Non-stream responses (http/server.cpp): one refused by the bytes-in-flight budget, one whose
  // write did not finish within the timeout (its connection closed).
  void ResponseRefused(ByteBudget::Refusal refusal);
  void ResponseWriteTimedOut();
  // A context not created because its user is past the cap (`rate` false) or the creation rate.
  void ContextCreationRefused(bool rate);
  void StoreError();
  void ReplayServed(bool reset);
  // The cluster relay (hub/relay.h): whether its connection is up, how far it is behind the
  // log (events, and the age of what it is delivering or how long it has been down).
  void RelayState(bool connected, std::uint64_t lag_events, double lag_seconds);
  void RelayReconnected();
  // The live nodes of the cluster with the streams each holds (from the last heartbeat).
  void ClusterNodes(std::vector<std::pair<std::string, std::uint64_t>> streams_by_node);

  std::int64_t OpenConnections(Stream stream) const;
  std::uint64_t Disconnects(DisconnectReason reason) const;
  // Each shard's running total of bytes queued to its subscribers; written by that shard only.
  std::atomic<std::int64_t>& ShardQueuedBytes(std::size_t shard) {
    assert(shard < kMaxShards);
    return queued_bytes_[shard];
  }

  // The body bytes of non-stream responses being written; kept by their ByteBudget.
  std::atomic<std::int64_t>& ResponseBytesInFlight() { return response_bytes_in_flight_; }

  std::uint64_t DeliveredFrames() const { return delivered_.load(std::memory_order_relaxed); }

  // What the history samples; takes the per-type table's mutex as a scrape does.
  MetricsTotals Totals() const;

  std::string RenderPrometheus() const;

 private:
  // RenderPrometheus' parts, in the order of the text.
  void RenderConnections(std::string& out) const;
  void RenderEvents(std::string& out) const;
  void RenderResponses(std::string& out) const;
  void RenderCluster(std::string& out) const;
  void RenderQueuesAndLatency(std::string& out) const;

  std::array<std::atomic<std::int64_t>, kStreamCount> open_{};
  std::array<std::atomic<std::uint64_t>, kStreamCount> opened_total_{};
  std::array<std::atomic<std::uint64_t>, kStreamCount> rejected_by_cap_{};
  std::array<std::atomic<std::uint64_t>, kDisconnectReasonCount> disconnects_{};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> publish_rejected_{0};
  std::array<std::atomic<std::uint64_t>, kRateLimitKindCount> rate_limited_{};
  std::atomic<std::int64_t> response_bytes_in_flight_{0};
  std::array<std::atomic<std::uint64_t>, 2> responses_refused_{};  // by ByteBudget::Refusal
  std::atomic<std::uint64_t> response_write_timeouts_{0};
  std::array<std::atomic<std::uint64_t>, 2> context_creations_refused_{};  // cap, rate
  std::atomic<std::uint64_t> store_errors_{0};
  std::atomic<std::uint64_t> replay_hits_{0};
  std::atomic<std::uint64_t> replay_resets_{0};
  std::atomic<bool> relay_enabled_{false};
  std::atomic<bool> relay_connected_{false};
  std::atomic<std::uint64_t> relay_lag_events_{0};
  std::atomic<std::uint64_t> relay_lag_ms_{0};
  std::atomic<std::uint64_t> relay_reconnects_{0};
  mutable std::mutex cluster_mutex_;
  std::optional<std::vector<std::pair<std::string, std::uint64_t>>> cluster_nodes_;
  static constexpr std::size_t kMaxShards = 64;
  std::array<std::atomic<std::int64_t>, kMaxShards> queued_bytes_{};
  std::array<std::atomic<std::uint64_t>, kLatencyBucketsSeconds.size() + 1> latency_buckets_{};
  std::atomic<std::uint64_t> latency_count_{0};
  std::atomic<std::uint64_t> latency_sum_ns_{0};

  mutable std::mutex by_type_mutex_;
  std::map<std::pair<Protocol, std::string>, std::uint64_t> published_by_type_;
};

}  // namespace herald::hub
