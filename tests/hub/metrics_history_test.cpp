// The dashboard's history (hub/metrics_history.h): rates and latency quantiles over each
// interval, the fixed ring, `Since`, and the wall clock stepping back; time is passed in.
#include "hub/metrics_history.h"

#include <gtest/gtest.h>

namespace herald::hub {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Time = std::chrono::system_clock::time_point;

const Time kStart = Time{} + seconds(1'765'000'000);

MetricsTotals Totals(std::uint64_t published, std::uint64_t delivered,
                     std::array<std::int64_t, kStreamCount> open = {}) {
  MetricsTotals totals;
  totals.published = published;
  totals.delivered = delivered;
  totals.open = open;
  return totals;
}

TEST(MetricsHistoryTest, TheFirstRecordIsTheBaselineAndEachNextOneASampleOfItsInterval) {
  MetricsHistory history(10);
  history.Record(kStart, Totals(100, 1000));
  EXPECT_TRUE(history.Since(Time{}).empty()) << "a baseline has no interval";

  MetricsTotals later = Totals(110, 1040, {2, 0, 1});
  later.latency_buckets[0] = 10;  // ten publishes within 0.5 ms
  history.Record(kStart + seconds(2), later);
  const auto samples = history.Since(Time{});
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].time, kStart + seconds(2));
  EXPECT_DOUBLE_EQ(samples[0].events_per_second, 5.0);
  EXPECT_DOUBLE_EQ(samples[0].deliveries_per_second, 20.0);
  EXPECT_EQ(samples[0].open_streams, (std::array<std::int64_t, kStreamCount>{2, 0, 1}));
  ASSERT_TRUE(samples[0].latency_p50_seconds.has_value());
  EXPECT_DOUBLE_EQ(*samples[0].latency_p50_seconds, 0.00025);
  EXPECT_DOUBLE_EQ(*samples[0].latency_p99_seconds, 0.000495);

  // The next interval only counts what happened in it: no publish, no latency.
  history.Record(kStart + milliseconds(2500), Totals(110, 1041, {1, 0, 0}));
  const auto next = history.Since(kStart + seconds(2));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_DOUBLE_EQ(next[0].events_per_second, 0.0);
  EXPECT_DOUBLE_EQ(next[0].deliveries_per_second, 2.0);
  EXPECT_FALSE(next[0].latency_p50_seconds.has_value());
  EXPECT_FALSE(next[0].latency_p99_seconds.has_value());
}

TEST(MetricsHistoryTest, TheRingKeepsTheNewestSamplesOldestFirst) {
  MetricsHistory history(3);
  for (int i = 0; i <= 5; ++i) history.Record(kStart + seconds(i), Totals(i * 7, 0));
  const auto samples = history.Since(Time{});
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].time, kStart + seconds(3));
  EXPECT_EQ(samples[1].time, kStart + seconds(4));
  EXPECT_EQ(samples[2].time, kStart + seconds(5));
  for (const MetricsSample& s : samples) EXPECT_DOUBLE_EQ(s.events_per_second, 7.0);
  const auto after = history.Since(kStart + seconds(4));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].time, kStart + seconds(5));
  EXPECT_TRUE(history.Since(kStart + seconds(5)).empty());
}

TEST(MetricsHistoryTest, AWallClockSteppingBackStartsANewBaselineInsteadOfASample) {
  MetricsHistory history(10);
  history.Record(kStart, Totals(0, 0));
  history.Record(kStart + seconds(1), Totals(10, 0));
  history.Record(kStart, Totals(20, 0));  // stepped back: no negative interval
  history.Record(kStart, Totals(20, 0));  // the same time again: none either
  history.Record(kStart + seconds(2), Totals(40, 0));
  const auto samples = history.Since(Time{});
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_DOUBLE_EQ(samples[0].events_per_second, 10.0);
  EXPECT_DOUBLE_EQ(samples[1].events_per_second, 10.0) << "20 events over the 2 s since";
}

TEST(MetricsHistoryTest, QuantilesInterpolateWithinTheirBucketAsHistogramQuantileDoes) {
  std::array<std::uint64_t, kLatencyBucketsSeconds.size() + 1> buckets{};
  EXPECT_FALSE(BucketQuantile(0.5, buckets).has_value());
  buckets[2] = 50;  // (1 ms, 2 ms]
  buckets[4] = 50;  // (5 ms, 10 ms]
  EXPECT_DOUBLE_EQ(*BucketQuantile(0.5, buckets), 0.002);
  EXPECT_DOUBLE_EQ(*BucketQuantile(0.25, buckets), 0.0015);
  EXPECT_DOUBLE_EQ(*BucketQuantile(0.99, buckets), 0.005 + 0.005 * 0.98);
  buckets.back() = 100;  // over 5 s: the last finite bound
  EXPECT_DOUBLE_EQ(*BucketQuantile(0.99, buckets), 5.0);
}

TEST(MetricsHistoryTest, TotalsReadWhatTheMetricsCounted) {
  Metrics metrics;
  metrics.EventStored(Protocol::kAgui, "RUN_STARTED");
  metrics.EventStored(Protocol::kAgui, "RUN_STARTED");
  metrics.EventStored(Protocol::kA2a, "TASK_SUBMITTED");
  metrics.Delivered(5);
  metrics.ConnectionOpened(Stream::kContexts);
  metrics.PublishLatency(std::chrono::microseconds(1500));
  metrics.PublishLatency(std::chrono::seconds(9));
  const MetricsTotals totals = metrics.Totals();
  EXPECT_EQ(totals.published, 3u);
  EXPECT_EQ(totals.delivered, 5u);
  EXPECT_EQ(totals.open, (std::array<std::int64_t, kStreamCount>{0, 0, 1}));
  EXPECT_EQ(totals.latency_buckets[2], 1u) << "1.5 ms is in (1 ms, 2 ms]";
  EXPECT_EQ(totals.latency_buckets.back(), 1u) << "9 s is over the last bound";
}

}  // namespace
}  // namespace herald::hub
