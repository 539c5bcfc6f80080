// Metrics access on the wire (issue 17): /metrics and /api/v1/metrics/history answer a token
// with the `metrics` or `admin` scope (401 without a valid token, 403 with another scope), or
// anyone when HttpOptions::metrics_require_token is off (`--metrics-auth none`, --dev's
// default); the history route's samples of the hub's activity.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <regex>

#include "http/loopback_support.h"

namespace herald::testing {
namespace {

constexpr char kHistory[] = "/api/v1/metrics/history";

// The exact error body of spec §1.5 for `code` and `message`.
void ExpectError(const HttpReply& reply, int status, const std::string& code,
                 const std::string& message) {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  const std::regex body(R"(\{"code":")" + code + R"(","message":")" + message +
                        R"(","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"\})");
  EXPECT_TRUE(std::regex_match(reply.body, body)) << reply.body;
}

TEST(MetricsLoopbackTest, WithoutAValidTokenMetricsAndTheirHistoryAre401) {
  TestHub hub;
  for (const char* path : {"/metrics", kHistory}) {
    SCOPED_TRACE(path);
    const HttpReply none = Request(hub.port(), "GET", path);
    ExpectError(none, 401, "unauthorized", "A bearer token is required.");
    EXPECT_EQ(none.Header("www-authenticate"), "Bearer");
    EXPECT_EQ(none.body.find("herald_"), std::string::npos);
    const HttpReply forged =
        Request(hub.port(), "GET", path, {{"Authorization", "Bearer not.a.token"}});
    EXPECT_EQ(forged.status, 401) << forged.body;
    EXPECT_EQ(forged.Header("www-authenticate"), "Bearer");
  }
}

TEST(MetricsLoopbackTest, ATokenWithoutTheMetricsOrAdminScopeIs403) {
  TestHub hub;
  for (const char* path : {"/metrics", kHistory}) {
    for (const char* scope : {"", "events:publish", "metrics:read", "administrator"}) {
      SCOPED_TRACE(std::string(path) + " scope '" + scope + "'");
      ExpectError(Request(hub.port(), "GET", path, AuthAs("alice", scope)), 403, "forbidden",
                  "The metrics or admin scope is required.");
    }
  }
}

TEST(MetricsLoopbackTest, TheMetricsOrAdminScopeReadsTheMetrics) {
  TestHub hub;
  ASSERT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "x")).status, 200);
  for (const char* scope : {"metrics", "admin", "events:publish metrics"}) {
    SCOPED_TRACE(scope);
    const HttpReply reply = Request(hub.port(), "GET", "/metrics", AuthAs("prometheus", scope));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.Header("content-type"), "text/plain; version=0.0.4");
    EXPECT_EQ(MetricValue(
                  reply.body,
                  R"(herald_events_published_total{protocol="agui",type="TEXT_MESSAGE_CONTENT"})"),
              1.0);
    const HttpReply history = Request(hub.port(), "GET", kHistory, AuthAs("prometheus", scope));
    EXPECT_EQ(history.status, 200) << history.body;
  }
}

TEST(MetricsLoopbackTest, WithoutTheTokenRequirementAnyoneReadsTheMetrics) {
  TestHubOptions options;
  options.http.metrics_require_token = false;
  TestHub hub(options);
  const HttpReply reply = Request(hub.port(), "GET", "/metrics");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(MetricValue(reply.body, R"(herald_connections{stream="agui"})"), 0.0);
  EXPECT_EQ(Request(hub.port(), "GET", "/metrics", AuthAs("alice")).status, 200)
      << "a token without the scope does not close what is open";
  EXPECT_EQ(Request(hub.port(), "GET", kHistory).status, 200);
}

TEST(MetricsLoopbackTest, TheHistoryHasASampleOfEachIntervalWithItsRatesAndOpenStreams) {
  TestHubOptions options;
  options.hub.metrics_sample_interval = std::chrono::milliseconds(50);
  options.hub.metrics_history_samples = 1000;
  TestHub hub(options);
  const Headers metrics = AuthAs("prometheus", "metrics");
  SseStream stream(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_EQ(stream.status(), 200);
  ASSERT_TRUE(hub.WaitForOpenStreams(1));
  // A first sample before the events: each event then falls in an interval with a sample before
  // it, whose length the client can measure (the first sample's interval starts when the sampler
  // did, which under load is not the nominal 50 ms).
  const auto sampled_once = [&] {
    const HttpReply reply = Request(hub.port(), "GET", kHistory, metrics);
    return reply.status == 200 &&
           !boost::json::parse(reply.body).at("data").at("samples").as_array().empty();
  };
  ASSERT_TRUE(WaitUntil(sampled_once));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m", std::to_string(i))).status,
              200);
  }
  ASSERT_EQ(stream.WaitFrames(6).size(), 6u);

  // Sampled by the hub's timer: wait (bounded) until the samples account for the 5 events (the
  // sum of each rate times its interval, the time since the sample before; the first sample
  // precedes the events, so its rate is 0 and its unknown interval counts for nothing).
  boost::json::array samples;
  double events = 0;
  const auto counted = [&] {
    const HttpReply reply = Request(hub.port(), "GET", kHistory, metrics);
    if (reply.status != 200) return false;
    const boost::json::object body = boost::json::parse(reply.body).as_object();
    const boost::json::object& data = body.at("data").as_object();
    EXPECT_EQ(data.at("interval_ms"), 50);
    EXPECT_EQ(data.at("capacity"), 1000);
    samples = data.at("samples").as_array();
    events = 0;
    std::int64_t before = 0;
    for (const auto& s : samples) {
      const std::int64_t time = s.as_object().at("time").as_int64();
      const double seconds = before == 0 ? 0.0 : static_cast<double>(time - before) / 1000.0;
      events += s.as_object().at("events_per_second").to_number<double>() * seconds;
      before = time;
    }
    return events > 4.5;
  };
  ASSERT_TRUE(WaitUntil(counted)) << events << " " << boost::json::serialize(samples);
  EXPECT_LT(events, 5.5) << boost::json::serialize(samples);

  bool saw_latency = false;
  bool saw_stream = false;
  std::int64_t previous_time = 0;
  for (const auto& s : samples) {
    const auto& sample = s.as_object();
    const std::int64_t time = sample.at("time").as_int64();
    EXPECT_GT(time, previous_time) << "oldest first";
    previous_time = time;
    const auto& open = sample.at("open_streams").as_object();
    saw_stream = saw_stream || open.at("agui").as_int64() == 1;
    EXPECT_EQ(open.at("a2a").as_int64(), 0);
    const auto& latency = sample.at("publish_latency_seconds");
    if (!latency.is_null()) {
      saw_latency = true;
      const double p50 = latency.as_object().at("p50").to_number<double>();
      const double p99 = latency.as_object().at("p99").to_number<double>();
      EXPECT_GT(p50, 0.0);
      EXPECT_LE(p50, p99);
      EXPECT_LE(p99, 5.0);
    }
  }
  EXPECT_TRUE(saw_latency) << "an interval with publishes has its latency";
  EXPECT_TRUE(saw_stream);

  // ?since= keeps what is newer; a bad one is 400.
  const HttpReply newer =
      Request(hub.port(), "GET", std::string(kHistory) + "?since=" + std::to_string(previous_time),
              metrics);
  ASSERT_EQ(newer.status, 200) << newer.body;
  const boost::json::value newer_body = boost::json::parse(newer.body);
  for (const auto& s : newer_body.as_object().at("data").as_object().at("samples").as_array()) {
    EXPECT_GT(s.as_object().at("time").as_int64(), previous_time);
  }
  const HttpReply far =
      Request(hub.port(), "GET", std::string(kHistory) + "?since=9223372036854775807", metrics);
  ASSERT_EQ(far.status, 200) << far.body;
  EXPECT_NE(far.body.find(R"("samples":[])"), std::string::npos) << far.body;
  for (const char* since : {"-1", "abc", "1.5", "", "9223372036854775808"}) {
    SCOPED_TRACE(since);
    ExpectError(Request(hub.port(), "GET", std::string(kHistory) + "?since=" + since, metrics), 400,
                "bad_request", "since must be a time in Unix milliseconds.");
  }
}

}  // namespace
}  // namespace herald::testing
