// Keep-alive frames and token expiry on the wire (spec §2, §5).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "auth/base64url.h"
#include "core/time_format.h"
#include "http/loopback_support.h"

namespace herald::testing {
namespace {

constexpr char kHeartbeatEvent[] = "event: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n";
constexpr char kHeartbeatComment[] = ":heartbeat\n\n";

// The `exp` claim of a JWT (no verification: the test minted it).
std::chrono::system_clock::time_point ExpiryOf(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  const auto payload = auth::DecodeBase64Url(token.substr(first + 1, second - first - 1));
  if (!payload) throw std::runtime_error("bad token payload");
  const auto exp = boost::json::parse(*payload).as_object().at("exp").to_number<std::int64_t>();
  return std::chrono::system_clock::time_point(std::chrono::seconds(exp));
}

TEST(HeartbeatLoopbackTest, IdleStreamGetsTheHeartbeatEventFrame) {
  TestHubOptions options;
  options.http.heartbeat_interval = std::chrono::milliseconds(200);
  TestHub hub(options);
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));

  // WaitFrames returns every frame so far: more heartbeats may have come; check the first ones.
  const auto frames = agui.WaitFrames(3, std::chrono::seconds(5));
  ASSERT_GE(frames.size(), 3u);
  EXPECT_FALSE(OpeningCursor(frames[0]).empty()) << frames[0];
  EXPECT_EQ(frames[1], kHeartbeatEvent);
  EXPECT_EQ(frames[2], kHeartbeatEvent);
  EXPECT_EQ(agui.body().rfind(frames[0] + std::string(kHeartbeatEvent) + kHeartbeatEvent, 0), 0u);

  const auto context_frames = contexts.WaitFrames(3, std::chrono::seconds(5));
  ASSERT_GE(context_frames.size(), 3u);
  EXPECT_NE(context_frames[1].find("CONTEXTS_SNAPSHOT"), std::string::npos);
  EXPECT_EQ(context_frames[2], kHeartbeatEvent);
}

TEST(HeartbeatLoopbackTest, CommentStyleHeartbeatIsACommentLine) {
  TestHubOptions options;
  options.http.heartbeat_interval = std::chrono::milliseconds(200);
  options.http.heartbeat_style = http::HeartbeatStyle::kComment;
  TestHub hub(options);
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  const auto frames = a2a.WaitFrames(3, std::chrono::seconds(5));
  ASSERT_GE(frames.size(), 3u);
  EXPECT_FALSE(OpeningCursor(frames[0]).empty()) << frames[0];
  EXPECT_EQ(frames[1], kHeartbeatComment);
  EXPECT_EQ(frames[2], kHeartbeatComment);
  EXPECT_EQ(a2a.body().rfind(frames[0] + std::string(kHeartbeatComment) + kHeartbeatComment, 0),
            0u);
}

TEST(HeartbeatLoopbackTest, EventsInterleaveWithHeartbeatsAsWholeFrames) {
  TestHubOptions options;
  options.http.heartbeat_interval = std::chrono::milliseconds(50);
  TestHub hub(options);
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_EQ(agui.WaitFrames(2, std::chrono::seconds(5)).size(), 2u);  // a heartbeat came
  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    const HttpReply reply =
        PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "e" + std::to_string(i), "1"));
    ASSERT_EQ(reply.status, 200);
    expected.push_back("id: " + EventIdOf(reply) +
                       "\ndata: " + AguiTextJson("m1", "e" + std::to_string(i), "1") + "\n\n");
  }
  ASSERT_TRUE(agui.WaitFrameContaining("\"delta\":\"e4\""));
  std::vector<std::string> events;
  for (const std::string& frame : SplitFrames(agui.body())) {
    if (IsOpening(frame) || frame == kHeartbeatEvent) continue;
    events.push_back(frame);
  }
  EXPECT_EQ(events, expected);
}

// --compat-frames=false: no named frame of Herald's own. The opening carries the cursor in an
// id-only block (EventSource takes it as lastEventId, dispatching nothing); no auth_expiring;
// the stream still ends at expiry, as an error to fetch readers.
TEST(HeartbeatLoopbackTest, WithoutCompatFramesTheStreamSendsNoConnectedOrAuthExpiringFrame) {
  TestHubOptions options;
  options.http.auth_expiring_lead = std::chrono::seconds(2);
  options.http.compat_frames = false;
  TestHub hub(options);
  const std::string token = TestHub::Token("alice", "", std::chrono::seconds(3));
  const auto exp = ExpiryOf(token);

  SseStream agui(hub.port(), kAguiStream, {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(agui.status(), 200);
  const auto opening = agui.WaitFrames(1);
  ASSERT_EQ(opening.size(), 1u);
  EXPECT_EQ(opening[0],
            "retry: 2000\n:ok\nid: " + FormatEventId({hub.store().History(), 0}) + "\n\n");
  const HttpReply published = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "x", "1"));
  ASSERT_EQ(published.status, 200);

  ASSERT_TRUE(agui.WaitEof(std::chrono::seconds(10)));
  EXPECT_GE(std::chrono::system_clock::now(), exp - std::chrono::milliseconds(200));
  const auto frames = SplitFrames(agui.body());
  ASSERT_EQ(frames.size(), 2u) << agui.body();
  EXPECT_EQ(FrameField(frames[1], "id"), EventIdOf(published));
  EXPECT_EQ(agui.body().find("event:"), std::string::npos) << "no named event at all";
  EXPECT_TRUE(agui.EndedWithoutLastChunk());
}

TEST(HeartbeatLoopbackTest, StreamGetsAuthExpiringThenEndsAtTokenExpiry) {
  TestHubOptions options;
  options.http.auth_expiring_lead = std::chrono::seconds(2);
  TestHub hub(options);
  const std::string token = TestHub::Token("alice", "", std::chrono::seconds(3));
  const auto exp = ExpiryOf(token);

  SseStream agui(hub.port(), kAguiStream, {{"Authorization", "Bearer " + token}});
  SseStream contexts(hub.port(), kContextsStream, {{"Cookie", "access_token=" + token}});
  ASSERT_EQ(agui.status(), 200);
  ASSERT_EQ(contexts.status(), 200);

  const std::string expiring =
      "event: auth_expiring\ndata: {\"type\":\"AUTH_EXPIRING\","
      "\"expiresAt\":\"" +
      FormatRfc3339(exp) + "\"}\n\n";
  const auto frames = agui.WaitFrames(2, std::chrono::seconds(10));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], expiring);
  // Sent about `lead` before exp (exp is whole seconds; allow scheduling slack).
  EXPECT_LE(std::chrono::system_clock::now(), exp - std::chrono::milliseconds(1000));

  ASSERT_TRUE(agui.WaitEof(std::chrono::seconds(10)));
  const auto ended_at = std::chrono::system_clock::now();
  EXPECT_GE(ended_at, exp - std::chrono::milliseconds(200));
  EXPECT_LE(ended_at, exp + std::chrono::milliseconds(2000));
  EXPECT_EQ(agui.body(), frames[0] + expiring) << "nothing after auth_expiring";
  EXPECT_TRUE(agui.EndedWithoutLastChunk()) << "a fetch reader must see an error and resume";
  EXPECT_FALSE(OpeningCursor(frames[0]).empty()) << frames[0];

  ASSERT_TRUE(contexts.WaitEof(std::chrono::seconds(10)));
  const auto context_frames = SplitFrames(contexts.body());
  ASSERT_EQ(context_frames.size(), 3u);
  EXPECT_NE(context_frames[1].find("CONTEXTS_SNAPSHOT"), std::string::npos);
  EXPECT_EQ(context_frames[2], expiring);

  EXPECT_TRUE(WaitUntil([&] {
    return ScrapeMetric(hub.port(), R"(herald_disconnects_total{reason="auth_expired"})") == 2.0;
  }));
}

}  // namespace
}  // namespace herald::testing
