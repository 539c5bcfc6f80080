// The last minutes of the hub's activity for the dashboard's charts (issue 17): a fixed ring of
// samples, each the change of the metrics' counters over one sampling interval (events and
// deliveries per second, publish latency quantiles) and the open streams at its end.
//
// The hub samples it from a timer (Hub::Start); nothing on the publish path writes to it.
// Thread rule: every method is thread-safe (one mutex, taken once per sample and per read).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

#include "hub/metrics.h"

namespace herald::hub {

struct MetricsSample {
  std::chrono::system_clock::time_point time;  // the end of the interval
  double events_per_second = 0;
  double deliveries_per_second = 0;
  std::array<std::int64_t, kStreamCount> open_streams{};
  // Estimated from the histogram's buckets as Prometheus' histogram_quantile does (linear within
  // the bucket; the +Inf bucket answers its lower bound); nullopt when nothing was published.
  std::optional<double> latency_p50_seconds;
  std::optional<double> latency_p99_seconds;
};

// The `quantile` (0..1) of the observations counted in `buckets` (not cumulative, bounds
// kLatencyBucketsSeconds then +Inf); nullopt when there are none.
std::optional<double> BucketQuantile(
    double quantile, const std::array<std::uint64_t, kLatencyBucketsSeconds.size() + 1>& buckets);

class MetricsHistory {
 public:
  explicit MetricsHistory(std::size_t capacity);

  // The totals read at `now`. The first call, and one whose `now` is not after the previous one
  // (the wall clock stepped back), only sets the baseline; the others add a sample, the oldest
  // leaving once `capacity` are kept.
  void Record(std::chrono::system_clock::time_point now, const MetricsTotals& totals);

  // The samples whose time is after `after`, oldest first.
  std::vector<MetricsSample> Since(std::chrono::system_clock::time_point after) const;

  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::optional<std::pair<std::chrono::system_clock::time_point, MetricsTotals>> previous_;
  std::vector<MetricsSample> ring_;  // up to capacity_; next_ is the oldest once full
  std::size_t next_ = 0;
};

}  // namespace herald::hub
