// The SSE session without sockets (STYLE §16, the in-memory tier): http::RunSseSessionOn over a
// Beast test stream, the real hub over a MemoryStore, time on a ManualClock
// (tests/support/session_harness.h). Exact bytes where the session decides them; the transport's
// recorded calls for how the stream ends.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/event_id.h"
#include "core/time_format.h"
#include "support/session_harness.h"

namespace herald::testing {
namespace {

using std::chrono::seconds;
using Calls = std::vector<std::string>;

constexpr std::string_view kHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "\r\n";

std::string Id(std::uint32_t history, std::uint64_t sequence) {
  return FormatEventId(EventId{history, sequence});
}

// HTTP/1.0 framing (no chunks), so that the bytes are the frames themselves.
http::StreamRequest Unchunked(http::StreamRequest request) {
  request.chunked = false;
  return request;
}

std::size_t Count(const std::string& text, std::string_view part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(SseSessionTest, FreshStreamSendsHeadRetryAndConnectedFrameInOneWrite) {
  SessionHarness harness;
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  const std::string expected =
      std::string(kHead) + "retry: 2000\n:ok\nid: " + Id(harness.History(), 0) +
      "\nevent: connected\ndata: {\"type\":\"CONNECTED\",\"connectionId\":\"1\"}\n\n";
  ASSERT_TRUE(client.WaitFor("connectionId"));
  harness.Settle();
  EXPECT_EQ(client.Received(), expected);
  EXPECT_EQ(client.TransportCalls(), Calls{"prepare"});
}

TEST(SseSessionTest, WithoutCompatFramesFreshStreamStartsWithItsPositionOnly) {
  SessionHarnessOptions options;
  options.http.compat_frames = false;
  SessionHarness harness(options);
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  const std::string expected =
      std::string(kHead) + "retry: 2000\n:ok\nid: " + Id(harness.History(), 0) + "\n\n";
  ASSERT_TRUE(client.WaitFor("id: "));
  harness.Settle();
  EXPECT_EQ(client.Received(), expected);
}

TEST(SseSessionTest, ChunkedStreamSendsItsHeadersThenTheOpeningAsOneChunk) {
  SessionHarnessOptions options;
  options.http.compat_frames = false;
  SessionHarness harness(options);
  http::StreamRequest request = harness.Request("alice");
  request.extra_head = "X-Request-Id: r-1\r\n";
  SessionClient client = harness.Open(std::move(request));
  const std::string preamble = "retry: 2000\n:ok\nid: " + Id(harness.History(), 0) + "\n\n";
  const std::string expected =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\nX-Request-Id: r-1\r\n\r\n" +
      fmt::format("{:x}\r\n", preamble.size()) + preamble + "\r\n";
  ASSERT_TRUE(client.WaitFor(preamble));
  harness.Settle();
  EXPECT_EQ(client.Received(), expected);
}

TEST(SseSessionTest, ResumeReplaysStoredEventsAfterTheCursorThenLiveOnesOnce) {
  SessionHarness harness;
  const auto ids = harness.Publish("alice", {R"({"n":1})", R"({"n":2})", R"({"n":3})"});
  http::StreamRequest request = Unchunked(harness.Request("alice"));
  request.cursor = ids[0];
  SessionClient client = harness.Open(std::move(request));
  const std::uint32_t h = harness.History();
  ASSERT_TRUE(client.WaitFor("data: {\"n\":3}\n\n"));
  harness.Publish("alice", {R"({"n":4})"});
  ASSERT_TRUE(client.WaitFor("data: {\"n\":4}\n\n"));
  harness.Settle();
  const std::string expected =
      std::string(kHead) + "retry: 2000\n:ok\n\n" + "id: " + Id(h, 2) + "\ndata: {\"n\":2}\n\n" +
      "id: " + Id(h, 3) + "\ndata: {\"n\":3}\n\n" + "id: " + Id(h, 4) + "\ndata: {\"n\":4}\n\n";
  EXPECT_EQ(client.Received(), expected);
  EXPECT_EQ(harness.metrics().Disconnects(hub::DisconnectReason::kClientGone), 0u);
}

// An event committed while the session reads the store is both in the replay and in the outbox:
// the sequence floor sends it once.
TEST(SseSessionTest, EventCommittedDuringTheOpeningReadIsSentOnceByTheReplay) {
  SessionHarness harness;
  const auto ids = harness.Publish("alice", {R"({"n":1})", R"({"n":2})"});
  http::StreamRequest request = Unchunked(harness.Request("alice"));
  request.cursor = ids[0];
  harness.HoldReads();
  SessionClient client = harness.Open(std::move(request));
  ASSERT_TRUE(harness.WaitForHeldRead());
  harness.Publish("alice", {R"({"n":3})"});
  harness.ReleaseReads();
  ASSERT_TRUE(client.WaitFor("data: {\"n\":3}\n\n"));
  harness.Publish("alice", {R"({"n":4})"});
  ASSERT_TRUE(client.WaitFor("data: {\"n\":4}\n\n"));
  harness.Settle();
  const std::string received = client.Received();
  EXPECT_EQ(Count(received, "data: {\"n\":2}"), 1u);
  EXPECT_EQ(Count(received, "data: {\"n\":3}"), 1u);
  EXPECT_EQ(Count(received, "data: {\"n\":4}"), 1u);
  EXPECT_LT(received.find("{\"n\":2}"), received.find("{\"n\":3}"));
  EXPECT_LT(received.find("{\"n\":3}"), received.find("{\"n\":4}"));
}

// On a fresh stream the position handed over covers the event: the outbox's copy is not sent.
TEST(SseSessionTest, EventCommittedDuringAFreshStreamsReadIsCoveredByItsPosition) {
  SessionHarness harness;
  harness.HoldReads();
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  ASSERT_TRUE(harness.WaitForHeldRead());
  const auto ids = harness.Publish("alice", {R"({"n":1})"});
  harness.ReleaseReads();
  ASSERT_TRUE(client.WaitFor("connectionId"));
  harness.Publish("alice", {R"({"n":2})"});
  ASSERT_TRUE(client.WaitFor("data: {\"n\":2}\n\n"));
  const std::string received = client.Received();
  EXPECT_NE(received.find("id: " + FormatEventId(ids[0]) + "\nevent: connected"), std::string::npos)
      << received;
  EXPECT_EQ(Count(received, "{\"n\":1}"), 0u);
}

TEST(SseSessionTest, CursorOfAnotherHistoryGetsAResetFrameAtTheCurrentPosition) {
  SessionHarness harness;
  harness.Publish("alice", {R"({"n":1})", R"({"n":2})"});
  http::StreamRequest request = Unchunked(harness.Request("alice"));
  request.cursor = EventId{harness.History() + 1, 1};
  SessionClient client = harness.Open(std::move(request));
  ASSERT_TRUE(client.WaitFor("event: reset"));
  harness.Settle();
  EXPECT_EQ(client.Received(),
            std::string(kHead) + "retry: 2000\n:ok\n\nid: " + Id(harness.History(), 2) +
                "\nevent: reset\ndata: {\"type\":\"STREAM_RESET\",\"reason\":\"unknown_history\"}"
                "\n\n");
}

TEST(SseSessionTest, CursorAheadOfTheStoreGetsAResetFrame) {
  SessionHarness harness;
  http::StreamRequest request = Unchunked(harness.Request("alice"));
  request.cursor = EventId{harness.History(), 9};
  SessionClient client = harness.Open(std::move(request));
  ASSERT_TRUE(client.WaitFor("\"reason\":\"future_id\""));
  EXPECT_EQ(Count(client.Received(), "event: reset"), 1u);
}

TEST(SseSessionTest, ContextsStreamOpensWithASnapshotOfTheUsersContexts) {
  SessionHarness harness;
  // The context's creation is an event too: the snapshot's position is the published event's.
  const auto ids = harness.Publish("alice", {R"({"n":1})"}, Protocol::kAgui, ContextId("chat-1"));
  SessionClient client = harness.Open(Unchunked(harness.Request("alice", Stream::kContexts)));
  ASSERT_TRUE(client.WaitFor("CONTEXTS_SNAPSHOT"));
  const std::string received = client.Received();
  EXPECT_NE(received.find("retry: 2000\n:ok\n\nid: " + FormatEventId(ids[0]) +
                          "\ndata: {\"protocol\":\"system\",\"event\":{\"type\":"
                          "\"CONTEXTS_SNAPSHOT\",\"contexts\":[{\"context_id\":\"chat-1\""),
            std::string::npos)
      << received;
  EXPECT_NE(received.find("\"total\":1,\"truncated\":false"), std::string::npos) << received;
  EXPECT_EQ(Count(received, "\"context_id\""), 1u);
}

SessionHarnessOptions SmallOutbox() {
  SessionHarnessOptions options;
  options.hub.outbox.max_frames = 2;
  return options;
}

TEST(SseSessionTest, OutboxOverItsBoundEndsTheStreamWithAHalfCloseThenAnAbortAfterTheGrace) {
  SessionHarness harness(SmallOutbox());
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  ASSERT_TRUE(client.WaitFor("connectionId"));
  // One publish of three events reaches the shard as one batch: the third overflows the outbox.
  harness.Publish("alice", {R"({"n":1})", R"({"n":2})", R"({"n":3})"});
  ASSERT_TRUE(harness.WaitForOpenStreams(0));
  harness.Settle();
  EXPECT_EQ(client.TransportCalls(), (Calls{"prepare", "shutdown_send"}));
  EXPECT_EQ(harness.metrics().Disconnects(hub::DisconnectReason::kSlowConsumer), 1u);
  EXPECT_EQ(client.Received().find("{\"n\":"), std::string::npos);  // its frames were dropped
  harness.Advance(std::chrono::milliseconds(4'999));
  harness.Settle();
  EXPECT_EQ(client.TransportCalls(), (Calls{"prepare", "shutdown_send"}));
  harness.Advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(client.WaitForClose());
  EXPECT_EQ(client.TransportCalls(), (Calls{"prepare", "shutdown_send", "abort", "close"}));
}

TEST(SseSessionTest, SlowConsumerThatReadsToTheEndWithinTheGraceGetsAnOrderlyClose) {
  SessionHarness harness(SmallOutbox());
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  ASSERT_TRUE(client.WaitFor("connectionId"));
  harness.Publish("alice", {R"({"n":1})", R"({"n":2})", R"({"n":3})"});
  ASSERT_TRUE(harness.WaitForOpenStreams(0));
  client.Disconnect();  // the peer read the end and closed
  ASSERT_TRUE(client.WaitForClose());
  EXPECT_EQ(client.TransportCalls(), (Calls{"prepare", "shutdown_send", "close"}));
}

TEST(SseSessionTest, HeartbeatFollowsAQuietIntervalOnTheClock) {
  SessionHarness harness;
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  ASSERT_TRUE(client.WaitFor("connectionId"));
  harness.Advance(seconds(14));
  harness.Settle();
  EXPECT_EQ(Count(client.Received(), "heartbeat"), 0u);
  harness.Advance(seconds(1));
  ASSERT_TRUE(client.WaitFor("event: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n"));
  harness.Advance(seconds(15));
  ASSERT_TRUE(
      client.WaitFor("\n\nevent: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n"
                     "event: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n"));
}

TEST(SseSessionTest, CommentHeartbeatWhenTheStyleSaysSo) {
  SessionHarnessOptions options;
  options.http.heartbeat_style = http::HeartbeatStyle::kComment;
  SessionHarness harness(options);
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  ASSERT_TRUE(client.WaitFor("connectionId"));
  harness.Advance(seconds(15));
  ASSERT_TRUE(client.WaitFor("\n\n:heartbeat\n\n"));
}

TEST(SseSessionTest, AuthExpiringAheadOfTheTokensExpiryThenTheEndAtIt) {
  SessionHarnessOptions options;
  options.http.heartbeat_interval = std::chrono::hours(1);  // no heartbeats in the way
  SessionHarness harness(options);
  http::StreamRequest request = Unchunked(harness.Request("alice", Stream::kAgui, seconds(60)));
  const auto expires_at = request.claims.expires_at;
  SessionClient client = harness.Open(std::move(request));
  ASSERT_TRUE(client.WaitFor("connectionId"));
  harness.Advance(seconds(29));
  harness.Settle();
  EXPECT_EQ(Count(client.Received(), "auth_expiring"), 0u);
  harness.Advance(seconds(1));
  ASSERT_TRUE(
      client.WaitFor("event: auth_expiring\ndata: {\"type\":\"AUTH_EXPIRING\","
                     "\"expiresAt\":\"" +
                     FormatRfc3339(expires_at) + "\"}\n\n"));
  harness.Advance(seconds(29));
  harness.Settle();
  EXPECT_EQ(client.TransportCalls(), Calls{"prepare"});
  harness.Advance(seconds(1));
  ASSERT_TRUE(client.WaitForClose());
  EXPECT_EQ(client.TransportCalls(), (Calls{"prepare", "shutdown_both", "close"}));
  EXPECT_EQ(harness.metrics().Disconnects(hub::DisconnectReason::kAuthExpired), 1u);
}

TEST(SseSessionTest, DrainEndsTheStreamWithARetryFrameThenAnOrderlyClose) {
  SessionHarnessOptions options;
  options.http.drain_window = options.http.client_retry;  // the retry drawn is then exact
  SessionHarness harness(options);
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  ASSERT_TRUE(client.WaitFor("connectionId"));
  harness.hub().DisconnectAll(hub::DisconnectReason::kDrain);
  ASSERT_TRUE(client.WaitForClose());
  const std::string received = client.Received();
  EXPECT_TRUE(received.ends_with("}\n\nretry: 2000\n\n")) << received;
  EXPECT_EQ(client.TransportCalls(), (Calls{"prepare", "shutdown_both", "close"}));
  EXPECT_EQ(harness.metrics().Disconnects(hub::DisconnectReason::kDrain), 1u);
}

TEST(SseSessionTest, StoreReadFailureAnswersA200ThatEndsAtOnce) {
  SessionHarness harness;
  harness.FailReads(true);
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  ASSERT_TRUE(client.WaitForClose());
  EXPECT_EQ(client.Received(), std::string(kHead) + "retry: 2000\n:ok\n\n");
  EXPECT_EQ(client.TransportCalls(), (Calls{"prepare", "shutdown_both", "close"}));
  EXPECT_EQ(harness.metrics().Disconnects(hub::DisconnectReason::kError), 1u);
  EXPECT_TRUE(harness.WaitForOpenStreams(0));
}

TEST(SseSessionTest, PeerClosingEndsTheStreamAsClientGone) {
  SessionHarness harness;
  SessionClient client = harness.Open(Unchunked(harness.Request("alice")));
  ASSERT_TRUE(client.WaitFor("connectionId"));
  client.Disconnect();
  ASSERT_TRUE(client.WaitForClose());
  EXPECT_EQ(harness.metrics().Disconnects(hub::DisconnectReason::kClientGone), 1u);
}

}  // namespace
}  // namespace herald::testing
