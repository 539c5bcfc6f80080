// Idempotency-Key on the wire (spec §1.2): a retry answers the original result, stores and
// delivers nothing twice, survives a restart; keys are per user and per request body.
#include <gtest/gtest.h>

#include <optional>

#include "http/store_loopback_support.h"
#include "support/manual_clock.h"

namespace herald::testing {
namespace {

Headers Keyed(Headers headers, const std::string& key) {
  headers.emplace_back("Idempotency-Key", key);
  return headers;
}

std::uint64_t LastOf(TestHub& hub, const std::string& user) {
  const auto range = hub.store().Range(UserId(user));
  return range.has_value() ? range->last : ~0ull;
}

TEST(IdempotencyLoopbackTest, WebhookRetryAnswersTheSameIdAndDeliversOnce) {
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_TRUE(hub.WaitForOpenStreams(1));
  const std::string body = AguiText("alice", "m1", "once", "1");

  const HttpReply first =
      Request(hub.port(), "POST", kAguiWebhook, Keyed(JsonAuthAs("alice"), "k-1"), body);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("idempotent-replayed"), "");
  const HttpReply second =
      Request(hub.port(), "POST", kAguiWebhook, Keyed(JsonAuthAs("alice"), "k-1"), body);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.Header("idempotent-replayed"), "true");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(EventIdOf(second), EventIdOf(first));
  EXPECT_EQ(LastOf(hub, "alice"), 1u);

  // The subscriber saw it once: the next frame after it is a later, unkeyed event.
  const HttpReply later = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "later", "1"));
  ASSERT_EQ(later.status, 200);
  const auto frames = agui.WaitFrames(3);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1],
            "id: " + EventIdOf(first) + "\ndata: " + AguiTextJson("m1", "once", "1") + "\n\n");
  EXPECT_EQ(FrameField(frames[2], "id"), EventIdOf(later));
  EXPECT_EQ(SequenceOf(EventIdOf(later)), 2u);
}

// A key is remembered for the publisher's idempotency_ttl by the hub's clock; past it, the same
// request is a new one.
TEST(IdempotencyLoopbackTest, AKeyIsForgottenOnceTheClockPassesItsTimeToLive) {
  ScratchDir dir;
  ManualClock clock;
  TestHubOptions options = SqliteHub(dir);
  options.hub.publisher.idempotency_ttl = std::chrono::minutes(10);
  options.clock = &clock;
  TestHub hub(options);
  const std::string body = AguiText("alice", "m1", "once", "1");
  const auto publish = [&hub, &body] {
    return Request(hub.port(), "POST", kAguiWebhook, Keyed(JsonAuthAs("alice"), "k-1"), body);
  };
  const HttpReply first = publish();
  ASSERT_EQ(first.status, 200) << first.body;
  clock.Advance(std::chrono::minutes(9));
  const HttpReply retry = publish();
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.Header("idempotent-replayed"), "true");
  EXPECT_EQ(EventIdOf(retry), EventIdOf(first));

  clock.Advance(std::chrono::minutes(2));
  const HttpReply late = publish();
  ASSERT_EQ(late.status, 200) << late.body;
  EXPECT_EQ(late.Header("idempotent-replayed"), "");
  EXPECT_EQ(SequenceOf(EventIdOf(late)), 2u);
  EXPECT_EQ(LastOf(hub, "alice"), 2u);
}

TEST(IdempotencyLoopbackTest, SameKeyWithAnotherBodyIs422AndMalformedKeyIs400) {
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  ASSERT_EQ(Request(hub.port(), "POST", kAguiWebhook, Keyed(JsonAuthAs("alice"), "k"),
                    AguiText("alice", "m1", "a"))
                .status,
            200);
  const HttpReply other = Request(hub.port(), "POST", kAguiWebhook, Keyed(JsonAuthAs("alice"), "k"),
                                  AguiText("alice", "m1", "b"));
  EXPECT_EQ(other.status, 422) << other.body;
  EXPECT_EQ(other.body.rfind(R"({"code":"validation_error")", 0), 0u) << other.body;
  EXPECT_NE(other.body.find(R"("field":"Idempotency-Key")"), std::string::npos) << other.body;

  for (const std::string& key : {std::string(256, 'k'), std::string("a b"), std::string("é")}) {
    const HttpReply bad = Request(hub.port(), "POST", kAguiWebhook, Keyed(JsonAuthAs("alice"), key),
                                  AguiText("alice", "m1", "c"));
    EXPECT_EQ(bad.status, 400) << key << " " << bad.body;
    EXPECT_EQ(bad.body.rfind(R"({"code":"bad_request")", 0), 0u) << bad.body;
  }
  EXPECT_EQ(LastOf(hub, "alice"), 1u);
}

TEST(IdempotencyLoopbackTest, KeysArePerUser) {
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  for (const char* user : {"alice", "bob"}) {
    const HttpReply reply = Request(hub.port(), "POST", kAguiWebhook,
                                    Keyed(JsonAuthAs(user), "shared"), AguiText(user, "m1", "x"));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.Header("idempotent-replayed"), "");
    EXPECT_EQ(SequenceOf(EventIdOf(reply)), 1u);
  }
  EXPECT_EQ(LastOf(hub, "alice"), 1u);
  EXPECT_EQ(LastOf(hub, "bob"), 1u);
}

TEST(IdempotencyLoopbackTest, BatchRetryAnswersTheSameResultsAndStoresNothingTwice) {
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_TRUE(hub.WaitForOpenStreams(1));
  const std::string item =
      R"({"user_id":"alice","protocol":"agui","event":{"type":"TEXT_MESSAGE_CONTENT",)"
      R"("messageId":"m1","delta":"D","timestamp":1}})";
  std::string body = "[";
  for (int i = 0; i < 5; ++i) body += (i > 0 ? "," : "") + item;
  body += R"(,{"user_id":"alice","protocol":"nope","event":{}}])";

  const HttpReply first =
      Request(hub.port(), "POST", "/api/v1/events", Keyed(JsonAuthAs("alice"), "batch-1"), body);
  ASSERT_EQ(first.status, 200) << first.body;
  const HttpReply second =
      Request(hub.port(), "POST", "/api/v1/events", Keyed(JsonAuthAs("alice"), "batch-1"), body);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.Header("idempotent-replayed"), "true");
  EXPECT_EQ(second.body, first.body);
  EXPECT_NE(first.body.find(R"("accepted":5,"rejected":1)"), std::string::npos) << first.body;
  EXPECT_EQ(LastOf(hub, "alice"), 5u);

  const HttpReply marker = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "end", "1"));
  ASSERT_EQ(marker.status, 200);
  EXPECT_EQ(SequenceOf(EventIdOf(marker)), 6u);
  const auto frames = agui.WaitFrames(7);
  ASSERT_EQ(frames.size(), 7u);
  for (std::size_t i = 1; i < frames.size(); ++i) {
    EXPECT_EQ(SequenceOf(FrameField(frames[i], "id")), i);
  }
}

TEST(IdempotencyLoopbackTest, RetryAfterARestartOnTheSameFileAnswersTheOriginalId) {
  ScratchDir dir;
  const std::string body = AguiText("alice", "m1", "durable", "1");
  std::string original;
  {
    TestHub hub(SqliteHub(dir));
    const HttpReply reply =
        Request(hub.port(), "POST", kAguiWebhook, Keyed(JsonAuthAs("alice"), "restart-key"), body);
    ASSERT_EQ(reply.status, 200) << reply.body;
    original = EventIdOf(reply);
    ASSERT_FALSE(original.empty());
  }
  TestHub hub(SqliteHub(dir));
  const HttpReply retry =
      Request(hub.port(), "POST", kAguiWebhook, Keyed(JsonAuthAs("alice"), "restart-key"), body);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.Header("idempotent-replayed"), "true");
  EXPECT_EQ(EventIdOf(retry), original);
  EXPECT_EQ(LastOf(hub, "alice"), 1u);
  EXPECT_EQ(FormatEventId(EventId{hub.store().History(), 1}), original);
}

}  // namespace
}  // namespace herald::testing
