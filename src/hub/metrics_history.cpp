#include "hub/metrics_history.h"

#include <algorithm>
#include <cassert>

namespace herald::hub {

std::optional<double> BucketQuantile(
    double quantile, const std::array<std::uint64_t, kLatencyBucketsSeconds.size() + 1>& buckets) {
  std::uint64_t total = 0;
  for (std::uint64_t count : buckets) total += count;
  if (total == 0) return std::nullopt;
  const double rank = quantile * static_cast<double>(total);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const std::uint64_t count = buckets[i];
    if (count > 0 && static_cast<double>(below + count) >= rank) {
      const double lower = i == 0 ? 0.0 : kLatencyBucketsSeconds[i - 1];
      if (i == kLatencyBucketsSeconds.size()) return lower;  // +Inf: nothing to interpolate
      const double upper = kLatencyBucketsSeconds[i];
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(count);
      return lower + (upper - lower) * std::clamp(within, 0.0, 1.0);
    }
    below += count;
  }
  return kLatencyBucketsSeconds.back();  // unreachable: the last non-empty bucket holds the rank
}

MetricsHistory::MetricsHistory(std::size_t capacity) : capacity_(capacity) {
  assert(capacity > 0);
  ring_.reserve(capacity);
}

void MetricsHistory::Record(std::chrono::system_clock::time_point now,
                            const MetricsTotals& totals) {
  std::lock_guard lock(mutex_);
  if (!previous_ || now <= previous_->first) {
    previous_.emplace(now, totals);
    return;
  }
  const auto& [before, old] = *previous_;
  const double seconds = std::chrono::duration<double>(now - before).count();
  // Counters only grow within a process; a difference below zero would be a bug, read as none.
  const auto rate = [seconds](std::uint64_t from, std::uint64_t to) {
    return to >= from ? static_cast<double>(to - from) / seconds : 0.0;
  };
  MetricsSample sample;
  sample.time = now;
  sample.events_per_second = rate(old.published, totals.published);
  sample.deliveries_per_second = rate(old.delivered, totals.delivered);
  sample.open_streams = totals.open;
  std::array<std::uint64_t, kLatencyBucketsSeconds.size() + 1> interval{};
  for (std::size_t i = 0; i < interval.size(); ++i) {
    interval[i] = totals.latency_buckets[i] >= old.latency_buckets[i]
                      ? totals.latency_buckets[i] - old.latency_buckets[i]
                      : 0;
  }
  sample.latency_p50_seconds = BucketQuantile(0.5, interval);
  sample.latency_p99_seconds = BucketQuantile(0.99, interval);
  if (ring_.size() < capacity_) {
    ring_.push_back(sample);
  } else {
    ring_[next_] = sample;
    next_ = (next_ + 1) % capacity_;
  }
  previous_.emplace(now, totals);
}

std::vector<MetricsSample> MetricsHistory::Since(
    std::chrono::system_clock::time_point after) const {
  std::lock_guard lock(mutex_);
  std::vector<MetricsSample> out;
  out.reserve(ring_.size());
  for (std::size_t i = 0; i < ring_.size(); ++i) {
    const MetricsSample& sample = ring_[(next_ + i) % ring_.size()];
    if (sample.time > after) out.push_back(sample);
  }
  return out;
}

}  // namespace herald::hub
