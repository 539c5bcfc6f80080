// Rate limits on the wire (spec §6): stream opens, publishes and the other API requests (reads)
// per authenticated user, and requests without a valid token per client address. The rates here are
// so low (one token per 1000 s) that no token comes back during a test: each budget is exactly its
// burst.
#include <gtest/gtest.h>

#include <string>

#include "http/loopback_support.h"
#include "support/manual_clock.h"

namespace herald::testing {
namespace {

constexpr hub::RateLimit kBurstOf(double burst) { return {.per_second = 0.001, .burst = burst}; }

constexpr hub::RateLimit kNoLimit{};

TestHubOptions WithRateLimits(hub::RateLimit stream_opens, hub::RateLimit publishes,
                              hub::RateLimit unauthenticated, hub::RateLimit reads = kNoLimit) {
  TestHubOptions options;
  options.http.rate_limits = {stream_opens, publishes, unauthenticated, reads};
  return options;
}

// 429 rate_limited, the JSON error shape, and Retry-After: the 1000 s until the next token.
void ExpectRateLimited(const HttpReply& reply, const std::string& message) {
  EXPECT_EQ(reply.status, 429) << reply.body;
  EXPECT_EQ(reply.Header("retry-after"), "1000");
  EXPECT_EQ(reply.body.rfind(R"({"code":"rate_limited","message":")" + message + "\"", 0), 0u)
      << reply.body;
}

constexpr char kUserMessage[] = "Too many requests for this user; retry later.";
constexpr char kAddressMessage[] = "Too many requests without a valid token from this address.";

double Metric(TestHub& hub, const std::string& series) {
  return ScrapeMetric(hub.port(), series).value_or(-1);
}

TEST(RateLimitLoopbackTest, StreamOpensBeyondAUsersBurstGet429AndOpenNothingWhileOtherUsersOpen) {
  TestHub hub(WithRateLimits(kBurstOf(3), kNoLimit, kNoLimit));
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(agui.status(), 200);
  ASSERT_EQ(a2a.status(), 200);
  ASSERT_EQ(contexts.status(), 200);

  // The budget is per user across the three streams, not per stream like the cap.
  for (const char* stream : {kAguiStream, kA2aStream, kContextsStream}) {
    SseStream refused(hub.port(), stream, AuthAs("alice"));
    ExpectRateLimited(refused.head(), kUserMessage);
  }
  SseStream bob(hub.port(), kAguiStream, AuthAs("bob"));
  EXPECT_EQ(bob.status(), 200) << "another user has a budget of their own";
  ASSERT_TRUE(hub.WaitForOpenStreams(4));

  // The open streams still work, and the refusals are counted as rate limits, not cap refusals.
  const HttpReply published = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "x"));
  EXPECT_EQ(published.body, BroadcastedBody(2, EventIdOf(published)));
  EXPECT_EQ(Metric(hub, R"(herald_rate_limited_total{kind="stream_open"})"), 3);
  EXPECT_EQ(Metric(hub, R"(herald_connections_rejected_total{stream="agui"})"), 0);
}

TEST(RateLimitLoopbackTest,
     PublishesBeyondTheCallersBurstGet429OnEveryPublishRouteAndAreNotStored) {
  TestHub hub(WithRateLimits(kNoLimit, kBurstOf(2), kNoLimit));
  SseStream stream(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_EQ(stream.status(), 200);
  const HttpReply first = PublishAgui(hub.port(), "alice", AguiText("alice", "m", "one"));
  const HttpReply second = PublishAgui(hub.port(), "alice", AguiText("alice", "m", "two"));
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(second.status, 200) << second.body;

  ExpectRateLimited(PublishAgui(hub.port(), "alice", AguiText("alice", "m", "refused-webhook")),
                    kUserMessage);
  ExpectRateLimited(
      Request(hub.port(), "POST", "/api/v1/events", JsonAuthAs("alice"),
              R"([{"user_id":"alice","protocol":"agui","event":{"type":"TEXT_MESSAGE_CONTENT",)"
              R"("messageId":"m","delta":"refused-batch"}}])"),
      kUserMessage);
  ExpectRateLimited(
      Request(hub.port(), "POST", "/api/v1/core/contexts/c-1/events", JsonAuthAs("alice"),
              R"({"protocol":"agui","event":{"type":"TEXT_MESSAGE_CONTENT",)"
              R"("messageId":"m","delta":"refused-context"}})"),
      kUserMessage);

  // The budget belongs to the token's subject: a service publishing for alice spends its own.
  const HttpReply service =
      Request(hub.port(), "POST", kAguiWebhook, JsonAuthAs("svc", "events:publish"),
              AguiText("alice", "m", "from-service"));
  ASSERT_EQ(service.status, 200) << service.body;

  // Live: exactly the three accepted events. Stored: a resume after the first replays the other
  // two and nothing refused.
  const auto frames = stream.WaitFrames(4);
  ASSERT_EQ(frames.size(), 4u) << stream.body();
  EXPECT_EQ(FrameField(frames[1], "id"), EventIdOf(first));
  EXPECT_EQ(FrameField(frames[2], "id"), EventIdOf(second));
  EXPECT_EQ(FrameField(frames[3], "id"), EventIdOf(service));
  Headers resume = AuthAs("alice");
  resume.emplace_back("Last-Event-ID", EventIdOf(first));
  SseStream replay(hub.port(), kAguiStream, resume);
  const auto replayed = replay.WaitFrames(3);
  ASSERT_EQ(replayed.size(), 3u) << replay.body();
  EXPECT_EQ(FrameField(replayed[1], "id"), EventIdOf(second));
  EXPECT_EQ(FrameField(replayed[2], "id"), EventIdOf(service));
  EXPECT_EQ(replay.body().find("refused"), std::string::npos) << replay.body();
  EXPECT_EQ(stream.body().find("refused"), std::string::npos) << stream.body();
  EXPECT_EQ(Metric(hub, R"(herald_rate_limited_total{kind="publish"})"), 3);
}

TEST(RateLimitLoopbackTest, RequestsWithoutAValidTokenAreLimitedPerAddressAnd429ReplacesThe401) {
  TestHub hub(WithRateLimits(kNoLimit, kNoLimit, kBurstOf(3)));
  const Headers garbage = {{"Authorization", "Bearer not.a.token"},
                           {"Content-Type", "application/json"}};
  EXPECT_EQ(Request(hub.port(), "GET", kAguiStream).status, 401);
  EXPECT_EQ(Request(hub.port(), "POST", kAguiWebhook, garbage, AguiText("alice", "m", "x")).status,
            401);
  EXPECT_EQ(Request(hub.port(), "GET", kContextsStream, garbage).status, 401);

  const HttpReply limited = Request(hub.port(), "GET", kA2aStream, garbage);
  ExpectRateLimited(limited, kAddressMessage);
  EXPECT_EQ(limited.Header("www-authenticate"), "") << "a 429, not a 401";
  ExpectRateLimited(Request(hub.port(), "POST", kAguiWebhook, garbage, AguiText("alice", "m", "x")),
                    kAddressMessage);

  // Callers with a valid token are charged to their own budgets, not the address's.
  SseStream alice(hub.port(), kAguiStream, AuthAs("alice"));
  EXPECT_EQ(alice.status(), 200);
  EXPECT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m", "ok")).status, 200);
  EXPECT_EQ(Metric(hub, R"(herald_rate_limited_total{kind="unauthenticated"})"), 2);
}

TEST(RateLimitLoopbackTest,
     ContextsAndAdminRequestsBeyondAUsersReadBurstGet429WhileStreamsPublishesAndOthersGoOn) {
  TestHub hub(WithRateLimits(kNoLimit, kNoLimit, kNoLimit, kBurstOf(4)));
  const Headers admin = AuthAs("alice", "admin");
  EXPECT_EQ(Request(hub.port(), "GET", "/api/v1/core/contexts", admin).status, 200);
  EXPECT_EQ(Request(hub.port(), "GET", "/api/v1/core/contexts/c-1", admin).status, 404);
  EXPECT_EQ(Request(hub.port(), "POST", "/api/v1/core/contexts", JsonAuthAs("alice", "admin"),
                    R"({"context_id":"c-1"})")
                .status,
            201);
  EXPECT_EQ(Request(hub.port(), "GET", "/api/v1/admin/users/alice/connections", admin).status, 200);

  // Every method of the contexts API and the admin routes spends the same per-user budget.
  ExpectRateLimited(Request(hub.port(), "GET", "/api/v1/core/contexts", admin), kUserMessage);
  ExpectRateLimited(Request(hub.port(), "GET", "/api/v1/core/contexts/c-1", admin), kUserMessage);
  ExpectRateLimited(Request(hub.port(), "PUT", "/api/v1/core/contexts/c-1",
                            JsonAuthAs("alice", "admin"), R"({"name":"renamed"})"),
                    kUserMessage);
  ExpectRateLimited(Request(hub.port(), "DELETE", "/api/v1/core/contexts/c-1", admin),
                    kUserMessage);
  ExpectRateLimited(Request(hub.port(), "GET", "/api/v1/admin/users/alice/connections", admin),
                    kUserMessage);
  EXPECT_EQ(Metric(hub, R"(herald_rate_limited_total{kind="read"})"), 5);

  // Refused requests changed nothing; another user, alice's streams and publishes go on.
  EXPECT_EQ(Request(hub.port(), "GET", "/api/v1/core/contexts", AuthAs("bob")).status, 200);
  const HttpReply owned = Request(hub.port(), "GET", "/api/v1/core/contexts/c-1?user_id=alice",
                                  AuthAs("bob", "events:publish"));
  EXPECT_EQ(owned.status, 200) << owned.body;
  EXPECT_NE(owned.body.find(R"("name":")"), std::string::npos);
  EXPECT_EQ(owned.body.find("renamed"), std::string::npos) << owned.body;
  SseStream stream(hub.port(), kAguiStream, AuthAs("alice"));
  EXPECT_EQ(stream.status(), 200);
  EXPECT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m", "x")).status, 200);
}

TEST(RateLimitLoopbackTest, ContextsRequestsWithoutAValidTokenSpendTheAddressBudget) {
  TestHub hub(WithRateLimits(kNoLimit, kNoLimit, kBurstOf(2), kBurstOf(100)));
  EXPECT_EQ(Request(hub.port(), "GET", "/api/v1/core/contexts").status, 401);
  EXPECT_EQ(Request(hub.port(), "DELETE", "/api/v1/core/contexts/c-1").status, 401);
  const HttpReply limited = Request(hub.port(), "GET", "/api/v1/core/contexts");
  ExpectRateLimited(limited, kAddressMessage);
  EXPECT_EQ(limited.Header("www-authenticate"), "") << "a 429, not a 401";
  EXPECT_EQ(Request(hub.port(), "GET", "/api/v1/core/contexts", AuthAs("alice")).status, 200);
  EXPECT_EQ(Metric(hub, R"(herald_rate_limited_total{kind="unauthenticated"})"), 1);
}

TEST(RateLimitLoopbackTest, OperationsRoutesAndTheDashboardAreNotCharged) {
  TestHub hub(WithRateLimits(kBurstOf(1), kBurstOf(1), kBurstOf(1), kBurstOf(1)));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Request(hub.port(), "GET", "/health").status, 200);
    EXPECT_EQ(Request(hub.port(), "GET", "/readyz").status, 200);
    EXPECT_EQ(Request(hub.port(), "GET", "/metrics", AuthAs("prometheus", "metrics")).status, 200);
    EXPECT_EQ(Request(hub.port(), "GET", "/api/v1/metrics/history", AuthAs("ops", "admin")).status,
              200);
    EXPECT_EQ(Request(hub.port(), "GET", "/").status, 200);
  }
  SseStream stream(hub.port(), kAguiStream, AuthAs("alice"));
  EXPECT_EQ(stream.status(), 200) << "the stream budget was not spent by other routes";
  EXPECT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m", "x")).status, 200);
  EXPECT_EQ(Request(hub.port(), "GET", "/api/v1/core/contexts", AuthAs("alice")).status, 200);
  EXPECT_EQ(Request(hub.port(), "GET", kAguiStream).status, 401);
}

// Budgets refill by the hub's clock: moving it by the Retry-After a refusal gave lets the same
// caller through again, and not a moment before.
TEST(RateLimitLoopbackTest, ARefusedCallerGoesThroughOnceTheClockHasMovedByTheRetryAfter) {
  ManualClock clock;
  TestHubOptions options =
      WithRateLimits(kNoLimit, {.per_second = 0.5, .burst = 1}, {.per_second = 0.1, .burst = 1});
  options.clock = &clock;
  TestHub hub(options);
  const auto publish = [&hub] {
    return PublishAgui(hub.port(), "alice", AguiText("alice", "m", "x"));
  };
  ASSERT_EQ(publish().status, 200);
  const HttpReply refused = publish();
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.Header("retry-after"), "2");
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(publish().status, 429) << "half a token is not one";
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(publish().status, 200);

  // The same for the budget of an address without a valid token.
  EXPECT_EQ(Request(hub.port(), "GET", kAguiStream).status, 401);
  const HttpReply limited = Request(hub.port(), "GET", kAguiStream);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "10");
  clock.Advance(std::chrono::seconds(10));
  EXPECT_EQ(Request(hub.port(), "GET", kAguiStream).status, 401);
  EXPECT_EQ(Metric(hub, R"(herald_rate_limited_total{kind="publish"})"), 2);
  EXPECT_EQ(Metric(hub, R"(herald_rate_limited_total{kind="unauthenticated"})"), 1);
}

}  // namespace
}  // namespace herald::testing
