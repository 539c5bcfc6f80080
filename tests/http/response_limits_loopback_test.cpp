// Non-stream responses on the wire (docs/DECISIONS.md "Limits"): a response the client does not
// take within the write timeout ends its connection, and the body bytes being written are
// bounded per user (429) and in all (503), so clients that never read cannot grow the hub.
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <string>

#include "http/loopback_support.h"

namespace herald::testing {
namespace {

constexpr char kBatch[] = "/api/v1/events";
constexpr char kContexts[] = "/api/v1/core/contexts";

// A batch whose every item is refused (a numeric user_id): one 200 listing an error of ~140 bytes
// per item, storing nothing. A large response (~1.4 MB) for a small request.
std::string RefusedItems() {
  std::string body = "[";
  for (int i = 0; i < 10'000; ++i) body += i == 0 ? R"({"user_id":1})" : R"(,{"user_id":1})";
  return body + "]";
}

// A client that asks for the refused batch's answer and never reads it. Small socket buffers
// from the handshake on: the hub's write stalls after a few KiB instead of MiBs.
class NonReader {
 public:
  NonReader(unsigned short port, const std::string& user, const std::string& body)
      : connection_(port, SocketOptions{.receive_buffer = 4096, .max_segment = 1024}) {
    connection_.Send("POST " + std::string(kBatch) +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + TestHub::Bearer(user) +
                     "\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  Connection& connection() { return connection_; }

 private:
  Connection connection_;
};

std::int64_t InFlight(TestHub& hub) { return hub.metrics().ResponseBytesInFlight().load(); }

// A metric as the hub renders it, read in-process (a scrape would itself be a response).
double Metric(TestHub& hub, const std::string& series) {
  return MetricValue(hub.metrics().RenderPrometheus(), series).value_or(-1);
}

// The size of the refused batch's answer, taken whole by a reading client.
std::size_t WholeAnswer(TestHub& hub, const std::string& body) {
  const HttpReply whole = Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), body);
  EXPECT_EQ(whole.status, 200) << whole.body.substr(0, 200);
  EXPECT_GE(whole.body.size(), 1'000'000u) << "large enough to fill the socket buffers";
  return whole.body.size();
}

TEST(ResponseLimitsLoopbackTest,
     AResponseNotTakenWithinTheWriteTimeoutEndsItsConnectionAndFreesItsBytesWhileOthersAreServed) {
  TestHubOptions options;
  options.http.response_write_timeout = std::chrono::milliseconds(300);
  TestHub hub(options);
  const std::string body = RefusedItems();
  const std::size_t size = WholeAnswer(hub, body);  // a reading client gets it whole in time
  ASSERT_EQ(InFlight(hub), 0);

  NonReader stuck(hub.port(), "alice", body);
  ASSERT_TRUE(WaitUntil([&] { return InFlight(hub) == static_cast<std::int64_t>(size); }))
      << "the hub is writing it: " << InFlight(hub);
  // Closed within the bound (the timeout, with room for a loaded machine), abortively: the
  // client's socket is reset, not left waiting for the rest of the body.
  EXPECT_TRUE(WaitUntil([&] { return stuck.connection().TcpState() == TCP_CLOSE; },
                        std::chrono::seconds(5)))
      << "state " << stuck.connection().TcpState();
  EXPECT_TRUE(WaitUntil([&] { return InFlight(hub) == 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(Metric(hub, "herald_response_write_timeouts_total"), 1);

  // The same user and others are served, and the hub reports what happened.
  EXPECT_EQ(Request(hub.port(), "GET", kContexts, AuthAs("alice")).status, 200);
  EXPECT_EQ(Request(hub.port(), "GET", kContexts, AuthAs("bob")).status, 200);
  EXPECT_EQ(ScrapeMetric(hub.port(), "herald_response_write_timeouts_total"), 1.0);
  EXPECT_EQ(ScrapeMetric(hub.port(), "herald_response_bytes_in_flight"), 0.0);
}

TEST(ResponseLimitsLoopbackTest,
     AUsersResponsePastItsShareOfBytesInFlightGets429WhileOtherUsersAndAddressesAreServed) {
  TestHubOptions options;
  options.http.response_bytes_per_user = 64 * 1024;
  TestHub hub(options);
  const std::string body = RefusedItems();
  // Larger than the share, yet served: alice has nothing else in flight.
  const std::size_t size = WholeAnswer(hub, body);

  NonReader stuck(hub.port(), "alice", body);
  ASSERT_TRUE(WaitUntil([&] { return InFlight(hub) == static_cast<std::int64_t>(size); }));
  const HttpReply refused = Request(hub.port(), "GET", kContexts, AuthAs("alice"));
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.Header("retry-after"), "1");
  EXPECT_EQ(refused.body.rfind(R"({"code":"rate_limited","message":"Too many response bytes )"
                               R"(in flight for this user; retry later.")",
                               0),
            0u)
      << refused.body;
  EXPECT_EQ(Metric(hub, R"(herald_responses_refused_total{limit="per_user"})"), 1);

  // Another user, and requests without a token (charged to the client's address), have shares
  // of their own.
  EXPECT_EQ(Request(hub.port(), "GET", kContexts, AuthAs("bob")).status, 200);
  EXPECT_EQ(Request(hub.port(), "GET", "/health").status, 200);

  // The client leaves: its bytes come back at once and alice is served again.
  stuck.connection().Close();
  EXPECT_TRUE(WaitUntil([&] { return InFlight(hub) == 0; }));
  EXPECT_EQ(Request(hub.port(), "GET", kContexts, AuthAs("alice")).status, 200);
  EXPECT_EQ(Metric(hub, R"(herald_responses_refused_total{limit="total"})"), 0);
}

TEST(ResponseLimitsLoopbackTest,
     ResponsesPastTheProcessBudgetGet503WithRetryAfterUntilTheBytesInFlightAreReleased) {
  TestHubOptions options;
  options.http.response_bytes_budget = 64 * 1024;
  options.http.response_bytes_per_user = 32 * 1024;
  TestHub hub(options);
  const std::string body = RefusedItems();
  const std::size_t size = WholeAnswer(hub, body);

  NonReader stuck(hub.port(), "alice", body);
  ASSERT_TRUE(WaitUntil([&] { return InFlight(hub) == static_cast<std::int64_t>(size); }));
  for (const auto& [target, headers] : {std::pair<std::string, Headers>{kContexts, AuthAs("bob")},
                                        std::pair<std::string, Headers>{"/health", {}}}) {
    const HttpReply refused = Request(hub.port(), "GET", target, headers);
    EXPECT_EQ(refused.status, 503) << target << " " << refused.body;
    EXPECT_EQ(refused.Header("retry-after"), "1") << target;
    EXPECT_EQ(refused.body.rfind(R"({"code":"service_unavailable","message":"The hub is writing )"
                                 R"(too many responses; retry shortly.")",
                                 0),
              0u)
        << refused.body;
  }
  EXPECT_EQ(Metric(hub, R"(herald_responses_refused_total{limit="total"})"), 2);
  EXPECT_EQ(Metric(hub, R"(herald_responses_refused_total{limit="per_user"})"), 0);

  stuck.connection().Close();
  EXPECT_TRUE(WaitUntil([&] { return InFlight(hub) == 0; }));
  EXPECT_EQ(Request(hub.port(), "GET", kContexts, AuthAs("bob")).status, 200);
  EXPECT_EQ(Request(hub.port(), "GET", "/health").status, 200);
}

}  // namespace
}  // namespace herald::testing
