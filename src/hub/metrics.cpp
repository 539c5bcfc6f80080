#include "hub/metrics.h"

#include <fmt/format.h>

namespace herald::hub {

namespace {

template <class... Args>
void Append(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

}  // namespace

std::string_view DisconnectReasonName(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::kClientGone:
      return "client_gone";
    case DisconnectReason::kSlowConsumer:
      return "slow_consumer";
    case DisconnectReason::kAuthExpired:
      return "auth_expired";
    case DisconnectReason::kDrain:
      return "drain";
    case DisconnectReason::kAdmin:
      return "admin";
    case DisconnectReason::kError:
      return "error";
  }
  return "error";
}

void Metrics::ConnectionOpened(Stream stream) {
  open_[static_cast<int>(stream)].fetch_add(1, std::memory_order_relaxed);
  opened_total_[static_cast<int>(stream)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::StreamEnded(DisconnectReason reason) {
  disconnects_[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::ConnectionClosed(Stream stream) {
  open_[static_cast<int>(stream)].fetch_sub(1, std::memory_order_relaxed);
}

void Metrics::ConnectionRejectedByCap(Stream stream) {
  rejected_by_cap_[static_cast<int>(stream)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::EventStored(Protocol protocol, const std::string& type) {
  std::lock_guard lock(by_type_mutex_);
  ++published_by_type_[{protocol, type}];
}

void Metrics::Delivered(std::uint64_t frames) {
  delivered_.fetch_add(frames, std::memory_order_relaxed);
}

void Metrics::PublishLatency(std::chrono::steady_clock::duration latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::size_t bucket = 0;
  while (bucket < kLatencyBucketsSeconds.size() && seconds > kLatencyBucketsSeconds[bucket]) {
    ++bucket;
  }
  latency_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(std::chrono::nanoseconds(latency).count()),
                            std::memory_order_relaxed);
}

void Metrics::PublishRejected() { publish_rejected_.fetch_add(1, std::memory_order_relaxed); }
void Metrics::RateLimited(RateLimitKind kind) {
  rate_limited_[static_cast<int>(kind)].fetch_add(1, std::memory_order_relaxed);
}
void Metrics::ResponseRefused(ByteBudget::Refusal refusal) {
  responses_refused_[static_cast<int>(refusal)].fetch_add(1, std::memory_order_relaxed);
}
void Metrics::ResponseWriteTimedOut() {
  response_write_timeouts_.fetch_add(1, std::memory_order_relaxed);
}
void Metrics::ContextCreationRefused(bool rate) {
  context_creations_refused_[rate ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
}
void Metrics::StoreError() { store_errors_.fetch_add(1, std::memory_order_relaxed); }

void Metrics::ReplayServed(bool reset) {
  (reset ? replay_resets_ : replay_hits_).fetch_add(1, std::memory_order_relaxed);
}

void Metrics::RelayState(bool connected, std::uint64_t lag_events, double lag_seconds) {
  relay_enabled_.store(true, std::memory_order_relaxed);
  relay_connected_.store(connected, std::memory_order_relaxed);
  relay_lag_events_.store(lag_events, std::memory_order_relaxed);
  relay_lag_ms_.store(static_cast<std::uint64_t>(lag_seconds * 1000.0), std::memory_order_relaxed);
}

void Metrics::ClusterNodes(std::vector<std::pair<std::string, std::uint64_t>> streams_by_node) {
  std::lock_guard lock(cluster_mutex_);
  cluster_nodes_ = std::move(streams_by_node);
}

void Metrics::RelayReconnected() { relay_reconnects_.fetch_add(1, std::memory_order_relaxed); }

std::int64_t Metrics::OpenConnections(Stream stream) const {
  return open_[static_cast<int>(stream)].load(std::memory_order_relaxed);
}

std::uint64_t Metrics::Disconnects(DisconnectReason reason) const {
  return disconnects_[static_cast<int>(reason)].load(std::memory_order_relaxed);
}

MetricsTotals Metrics::Totals() const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  MetricsTotals totals;
  totals.delivered = delivered_.load(kRelaxed);
  for (std::size_t s = 0; s < totals.open.size(); ++s) totals.open[s] = open_[s].load(kRelaxed);
  for (std::size_t b = 0; b < totals.latency_buckets.size(); ++b) {
    totals.latency_buckets[b] = latency_buckets_[b].load(kRelaxed);
  }
  std::lock_guard lock(by_type_mutex_);
  for (const auto& [key, count] : published_by_type_) totals.published += count;
  return totals;
}

// The streams: open, opened, refused by the cap, ended by reason.
void Metrics::RenderConnections(std::string& out) const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  constexpr Stream kStreams[] = {Stream::kAgui, Stream::kA2a, Stream::kContexts};

  Append(out, "# HELP herald_connections Open SSE connections by stream.\n");
  Append(out, "# TYPE herald_connections gauge\n");
  for (Stream s : kStreams) {
    Append(out, "herald_connections{{stream=\"{}\"}} {}\n", StreamName(s),
           open_[static_cast<int>(s)].load(kRelaxed));
  }
  Append(out, "# HELP herald_connections_opened_total SSE connections accepted by stream.\n");
  Append(out, "# TYPE herald_connections_opened_total counter\n");
  for (Stream s : kStreams) {
    Append(out, "herald_connections_opened_total{{stream=\"{}\"}} {}\n", StreamName(s),
           opened_total_[static_cast<int>(s)].load(kRelaxed));
  }
  Append(out,
         "# HELP herald_connections_rejected_total Stream opens refused by the per-user cap.\n");
  Append(out, "# TYPE herald_connections_rejected_total counter\n");
  for (Stream s : kStreams) {
    Append(out, "herald_connections_rejected_total{{stream=\"{}\"}} {}\n", StreamName(s),
           rejected_by_cap_[static_cast<int>(s)].load(kRelaxed));
  }
  Append(out, "# HELP herald_disconnects_total Streams ended, by reason.\n");
  Append(out, "# TYPE herald_disconnects_total counter\n");
  for (int r = 0; r < kDisconnectReasonCount; ++r) {
    Append(out, "herald_disconnects_total{{reason=\"{}\"}} {}\n",
           DisconnectReasonName(static_cast<DisconnectReason>(r)), disconnects_[r].load(kRelaxed));
  }
}

// Events published by type, deliveries, publishes refused, rate limits.
void Metrics::RenderEvents(std::string& out) const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  Append(out, "# HELP herald_events_published_total Events stored, by protocol and type.\n");
  Append(out, "# TYPE herald_events_published_total counter\n");
  {
    std::lock_guard lock(by_type_mutex_);
    for (const auto& [key, count] : published_by_type_) {
      Append(out, "herald_events_published_total{{protocol=\"{}\",type=\"{}\"}} {}\n",
             ProtocolName(key.first), key.second, count);
    }
  }
  Append(out, "# HELP herald_deliveries_total Frames queued to subscribers.\n");
  Append(out, "# TYPE herald_deliveries_total counter\n");
  Append(out, "herald_deliveries_total {}\n", delivered_.load(kRelaxed));
  Append(out, "# HELP herald_publish_rejected_total Publishes refused with 503 (back-pressure).\n");
  Append(out, "# TYPE herald_publish_rejected_total counter\n");
  Append(out, "herald_publish_rejected_total {}\n", publish_rejected_.load(kRelaxed));
  Append(out, "# HELP herald_rate_limited_total Requests refused with 429 by a rate limit.\n");
  Append(out, "# TYPE herald_rate_limited_total counter\n");
  for (int k = 0; k < kRateLimitKindCount; ++k) {
    Append(out, "herald_rate_limited_total{{kind=\"{}\"}} {}\n",
           RateLimitKindName(static_cast<RateLimitKind>(k)), rate_limited_[k].load(kRelaxed));
  }
}

// Non-stream responses, context creations refused, store errors, replays.
void Metrics::RenderResponses(std::string& out) const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  Append(out,
         "# HELP herald_response_bytes_in_flight Body bytes of non-stream responses being "
         "written.\n");
  Append(out, "# TYPE herald_response_bytes_in_flight gauge\n");
  Append(out, "herald_response_bytes_in_flight {}\n", response_bytes_in_flight_.load(kRelaxed));
  Append(out,
         "# HELP herald_responses_refused_total Non-stream responses replaced by an error because "
         "their body would exceed the bytes-in-flight budget, by limit.\n");
  Append(out, "# TYPE herald_responses_refused_total counter\n");
  for (ByteBudget::Refusal refusal : {ByteBudget::Refusal::kPerKey, ByteBudget::Refusal::kTotal}) {
    Append(out, "herald_responses_refused_total{{limit=\"{}\"}} {}\n",
           refusal == ByteBudget::Refusal::kPerKey ? "per_user" : "total",
           responses_refused_[static_cast<int>(refusal)].load(kRelaxed));
  }
  Append(out,
         "# HELP herald_response_write_timeouts_total Connections closed because a non-stream "
         "response was not written within the timeout.\n");
  Append(out, "# TYPE herald_response_write_timeouts_total counter\n");
  Append(out, "herald_response_write_timeouts_total {}\n", response_write_timeouts_.load(kRelaxed));
  Append(out,
         "# HELP herald_context_creations_refused_total Contexts not created because their user "
         "had as many as --max-contexts-per-user, or was past --rate-limit-context-creates.\n");
  Append(out, "# TYPE herald_context_creations_refused_total counter\n");
  Append(out, "herald_context_creations_refused_total{{reason=\"cap\"}} {}\n",
         context_creations_refused_[0].load(kRelaxed));
  Append(out, "herald_context_creations_refused_total{{reason=\"rate\"}} {}\n",
         context_creations_refused_[1].load(kRelaxed));
  Append(out, "# HELP herald_store_errors_total Failed store operations.\n");
  Append(out, "# TYPE herald_store_errors_total counter\n");
  Append(out, "herald_store_errors_total {}\n", store_errors_.load(kRelaxed));
  Append(out, "# HELP herald_replays_total Stream resumes, by outcome.\n");
  Append(out, "# TYPE herald_replays_total counter\n");
  Append(out, "herald_replays_total{{outcome=\"hit\"}} {}\n", replay_hits_.load(kRelaxed));
  Append(out, "herald_replays_total{{outcome=\"reset\"}} {}\n", replay_resets_.load(kRelaxed));
}

// The relay (when enabled) and the cluster's live nodes (when known).
void Metrics::RenderCluster(std::string& out) const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  if (relay_enabled_.load(kRelaxed)) {
    Append(out, "# HELP herald_relay_connected Whether the cluster relay's connection is up.\n");
    Append(out, "# TYPE herald_relay_connected gauge\n");
    Append(out, "herald_relay_connected {}\n", relay_connected_.load(kRelaxed) ? 1 : 0);
    Append(out, "# HELP herald_relay_lag_events Committed events the relay has not delivered.\n");
    Append(out, "# TYPE herald_relay_lag_events gauge\n");
    Append(out, "herald_relay_lag_events {}\n", relay_lag_events_.load(kRelaxed));
    Append(out,
           "# HELP herald_relay_lag_seconds Age of what the relay delivers while behind, or time "
           "since its connection was lost.\n");
    Append(out, "# TYPE herald_relay_lag_seconds gauge\n");
    Append(out, "herald_relay_lag_seconds {}\n",
           static_cast<double>(relay_lag_ms_.load(kRelaxed)) / 1000.0);
    Append(out, "# HELP herald_relay_reconnects_total Times the relay reconnected.\n");
    Append(out, "# TYPE herald_relay_reconnects_total counter\n");
    Append(out, "herald_relay_reconnects_total {}\n", relay_reconnects_.load(kRelaxed));
  }
  {
    std::lock_guard lock(cluster_mutex_);
    if (cluster_nodes_) {
      Append(out, "# HELP herald_cluster_nodes Live nodes of the cluster.\n");
      Append(out, "# TYPE herald_cluster_nodes gauge\n");
      Append(out, "herald_cluster_nodes {}\n", cluster_nodes_->size());
      Append(out, "# HELP herald_cluster_connections Open streams per live node.\n");
      Append(out, "# TYPE herald_cluster_connections gauge\n");
      for (const auto& [node, streams] : *cluster_nodes_) {
        Append(out, "herald_cluster_connections{{node=\"{}\"}} {}\n", node, streams);
      }
    }
  }
}

// Queued bytes and the publish latency histogram.
void Metrics::RenderQueuesAndLatency(std::string& out) const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  Append(out, "# HELP herald_queued_bytes Bytes waiting in subscriber queues.\n");
  Append(out, "# TYPE herald_queued_bytes gauge\n");
  std::int64_t queued = 0;
  for (const auto& shard : queued_bytes_) queued += shard.load(kRelaxed);
  Append(out, "herald_queued_bytes {}\n", queued);
  Append(out, "# HELP herald_publish_latency_seconds Publish request to stored and fanned out.\n");
  Append(out, "# TYPE herald_publish_latency_seconds histogram\n");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
    cumulative += latency_buckets_[i].load(kRelaxed);
    Append(out, "herald_publish_latency_seconds_bucket{{le=\"{}\"}} {}\n",
           kLatencyBucketsSeconds[i], cumulative);
  }
  cumulative += latency_buckets_.back().load(kRelaxed);
  Append(out, "herald_publish_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  Append(out, "herald_publish_latency_seconds_sum {}\n",
         static_cast<double>(latency_sum_ns_.load(kRelaxed)) / 1e9);
  Append(out, "herald_publish_latency_seconds_count {}\n", latency_count_.load(kRelaxed));
}

std::string Metrics::RenderPrometheus() const {
  std::string out;
  RenderConnections(out);
  RenderEvents(out);
  RenderResponses(out);
  RenderCluster(out);
  RenderQueuesAndLatency(out);
  return out;
}

}  // namespace herald::hub
