#include "hub/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace herald::hub {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The sample lines (no comments) of a rendering.
std::vector<std::string> Samples(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

bool HasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

struct Bucket {
  std::string le;
  std::uint64_t count;
};

std::vector<Bucket> LatencyBuckets(const std::string& text) {
  constexpr std::string_view kPrefix = "herald_publish_latency_seconds_bucket{le=\"";
  std::vector<Bucket> out;
  for (const std::string& line : Samples(text)) {
    if (!line.starts_with(kPrefix)) continue;
    const std::size_t quote = line.find('"', kPrefix.size());
    out.push_back(Bucket{line.substr(kPrefix.size(), quote - kPrefix.size()),
                         std::stoull(line.substr(line.rfind(' ') + 1))});
  }
  return out;
}

TEST(MetricsTest, RendersConnectionGaugeByStream) {
  Metrics metrics;
  metrics.ConnectionOpened(Stream::kAgui);
  metrics.ConnectionOpened(Stream::kAgui);
  metrics.ConnectionOpened(Stream::kContexts);
  metrics.StreamEnded(DisconnectReason::kClientGone);
  metrics.ConnectionClosed(Stream::kAgui);

  const std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(HasLine(text, "# TYPE herald_connections gauge")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_connections{stream="agui"} 1)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_connections{stream="a2a"} 0)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_connections{stream="contexts"} 1)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_connections_opened_total{stream="agui"} 2)")) << text;
  EXPECT_EQ(metrics.OpenConnections(Stream::kAgui), 1);
}

TEST(MetricsTest, RendersDisconnectsByReasonIncludingZeroes) {
  Metrics metrics;
  for (Stream s : {Stream::kAgui, Stream::kA2a, Stream::kContexts}) metrics.ConnectionOpened(s);
  metrics.StreamEnded(DisconnectReason::kSlowConsumer);
  metrics.ConnectionClosed(Stream::kAgui);
  metrics.StreamEnded(DisconnectReason::kSlowConsumer);
  metrics.ConnectionClosed(Stream::kA2a);
  metrics.StreamEnded(DisconnectReason::kAuthExpired);
  metrics.ConnectionClosed(Stream::kContexts);
  metrics.ConnectionRejectedByCap(Stream::kA2a);

  const std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(HasLine(text, "# TYPE herald_disconnects_total counter")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_disconnects_total{reason="slow_consumer"} 2)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_disconnects_total{reason="auth_expired"} 1)")) << text;
  for (const char* zero : {"client_gone", "drain", "admin", "error"}) {
    EXPECT_TRUE(HasLine(text, std::string(R"(herald_disconnects_total{reason=")") + zero + "\"} 0"))
        << zero;
  }
  EXPECT_TRUE(HasLine(text, R"(herald_connections_rejected_total{stream="a2a"} 1)")) << text;
  EXPECT_EQ(metrics.Disconnects(DisconnectReason::kSlowConsumer), 2u);
}

TEST(MetricsTest, RendersEventsByProtocolAndType) {
  Metrics metrics;
  metrics.EventStored(Protocol::kAgui, "RUN_STARTED");
  metrics.EventStored(Protocol::kAgui, "RUN_STARTED");
  metrics.EventStored(Protocol::kA2a, "TASK_SUBMITTED");
  metrics.EventStored(Protocol::kSystem, "CONTEXT_CREATED");

  const std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(HasLine(text, "# TYPE herald_events_published_total counter")) << text;
  EXPECT_TRUE(
      HasLine(text, R"(herald_events_published_total{protocol="agui",type="RUN_STARTED"} 2)"))
      << text;
  EXPECT_TRUE(
      HasLine(text, R"(herald_events_published_total{protocol="a2a",type="TASK_SUBMITTED"} 1)"))
      << text;
  EXPECT_TRUE(
      HasLine(text, R"(herald_events_published_total{protocol="system",type="CONTEXT_CREATED"} 1)"))
      << text;
}

TEST(MetricsTest, RendersCountersAndQueuedBytesAcrossShards) {
  Metrics metrics;
  metrics.Delivered(5);
  metrics.Delivered(2);
  metrics.PublishRejected();
  metrics.StoreError();
  metrics.StoreError();
  metrics.ReplayServed(false);
  metrics.ReplayServed(true);
  metrics.ReplayServed(true);
  metrics.ShardQueuedBytes(0) += 100;
  metrics.ShardQueuedBytes(3) += 23;

  const std::string text = metrics.RenderPrometheus();
  EXPECT_EQ(metrics.DeliveredFrames(), 7u);
  EXPECT_TRUE(HasLine(text, "herald_deliveries_total 7")) << text;
  EXPECT_TRUE(HasLine(text, "herald_publish_rejected_total 1")) << text;
  EXPECT_TRUE(HasLine(text, "herald_store_errors_total 2")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_replays_total{outcome="hit"} 1)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_replays_total{outcome="reset"} 2)")) << text;
  EXPECT_TRUE(HasLine(text, "herald_queued_bytes 123")) << text;
}

TEST(MetricsTest, LatencyHistogramIsCumulativeAndInfEqualsCount) {
  Metrics metrics;
  metrics.PublishLatency(microseconds(300));  // <= 0.0005
  metrics.PublishLatency(milliseconds(1));    // exactly on the 0.001 bound: counted there
  metrics.PublishLatency(milliseconds(3));    // <= 0.005
  metrics.PublishLatency(milliseconds(300));  // <= 0.5
  metrics.PublishLatency(seconds(10));        // above every bound

  const std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(HasLine(text, "# TYPE herald_publish_latency_seconds histogram")) << text;
  const std::vector<Bucket> buckets = LatencyBuckets(text);
  ASSERT_EQ(buckets.size(), 13u) << text;

  const std::vector<std::pair<std::string, std::uint64_t>> expected = {
      {"0.0005", 1}, {"0.001", 2}, {"0.002", 2}, {"0.005", 3}, {"0.01", 3},
      {"0.02", 3},   {"0.05", 3},  {"0.1", 3},   {"0.25", 3},  {"0.5", 4},
      {"1", 4},      {"5", 4},     {"+Inf", 5}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(buckets[i].le, expected[i].first) << i;
    EXPECT_EQ(buckets[i].count, expected[i].second) << buckets[i].le;
    if (i > 0) {
      EXPECT_GE(buckets[i].count, buckets[i - 1].count) << buckets[i].le;
    }
  }
  EXPECT_TRUE(HasLine(text, "herald_publish_latency_seconds_count 5")) << text;
  EXPECT_EQ(buckets.back().count, 5u);

  const std::string sum_prefix = "herald_publish_latency_seconds_sum ";
  const std::size_t at = text.find("\n" + sum_prefix);
  ASSERT_NE(at, std::string::npos);
  const double sum = std::stod(text.substr(at + 1 + sum_prefix.size()));
  EXPECT_NEAR(sum, 10.3043, 1e-9);
}

TEST(MetricsTest, EmptyHistogramRendersZeroes) {
  const std::string text = Metrics().RenderPrometheus();
  const std::vector<Bucket> buckets = LatencyBuckets(text);
  ASSERT_EQ(buckets.size(), 13u);
  for (const Bucket& b : buckets) EXPECT_EQ(b.count, 0u) << b.le;
  EXPECT_TRUE(HasLine(text, "herald_publish_latency_seconds_count 0")) << text;
}

TEST(MetricsTest, RendersRateLimitRefusalsForEveryKindIncludingReads) {
  Metrics metrics;
  metrics.RateLimited(RateLimitKind::kRead);
  metrics.RateLimited(RateLimitKind::kRead);
  metrics.RateLimited(RateLimitKind::kPublish);
  const std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(HasLine(text, R"(herald_rate_limited_total{kind="stream_open"} 0)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_rate_limited_total{kind="publish"} 1)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_rate_limited_total{kind="unauthenticated"} 0)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_rate_limited_total{kind="read"} 2)")) << text;
}

TEST(MetricsTest, RendersResponseBytesInFlightRefusalsByLimitAndWriteTimeouts) {
  Metrics metrics;
  ByteBudget budget({.total = 1000, .per_key = 100}, &metrics.ResponseBytesInFlight());
  auto held = budget.TryAcquire("user:alice", 80);
  metrics.ResponseRefused(ByteBudget::Refusal::kPerKey);
  metrics.ResponseRefused(ByteBudget::Refusal::kTotal);
  metrics.ResponseRefused(ByteBudget::Refusal::kTotal);
  metrics.ResponseWriteTimedOut();
  const std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(HasLine(text, "# TYPE herald_response_bytes_in_flight gauge")) << text;
  EXPECT_TRUE(HasLine(text, "herald_response_bytes_in_flight 80")) << text;
  EXPECT_TRUE(HasLine(text, "# TYPE herald_responses_refused_total counter")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_responses_refused_total{limit="per_user"} 1)")) << text;
  EXPECT_TRUE(HasLine(text, R"(herald_responses_refused_total{limit="total"} 2)")) << text;
  EXPECT_TRUE(HasLine(text, "herald_response_write_timeouts_total 1")) << text;
  held = ByteBudget::Refusal::kTotal;  // the lease is released
  EXPECT_TRUE(HasLine(metrics.RenderPrometheus(), "herald_response_bytes_in_flight 0"));
}

TEST(MetricsTest, EverySampleBelongsToADeclaredFamily) {
  Metrics metrics;
  metrics.EventStored(Protocol::kAgui, "CUSTOM");
  metrics.PublishLatency(milliseconds(2));
  const std::string text = metrics.RenderPrometheus();
  ASSERT_TRUE(text.ends_with("\n"));
  for (const std::string& line : Samples(text)) {
    std::string family = line.substr(0, line.find_first_of("{ "));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (family.ends_with(suffix) && family.starts_with("herald_publish_latency_seconds")) {
        family = "herald_publish_latency_seconds";
      }
    }
    EXPECT_NE(text.find("# TYPE " + family + " "), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace herald::hub
