// Streams on the wire (spec §1.1, §5): headers, framing, routing of published events.
#include <gtest/gtest.h>

#include "core/event_id.h"
#include "http/loopback_support.h"

namespace herald::testing {
namespace {

TEST(StreamLoopbackTest, AguiStreamAnswersWithSseHeadersAndFirstBytesAtOnce) {
  TestHub hub;
  SseStream stream(hub.port(), "/api/v1/stream/agui",
                   {{"Authorization", TestHub::Bearer("alice")}});
  EXPECT_EQ(stream.status(), 200);
  EXPECT_EQ(stream.head().Header("content-type"), "text/event-stream");
  EXPECT_EQ(stream.head().Header("cache-control"), "no-cache");
  EXPECT_EQ(stream.head().Header("x-accel-buffering"), "no");
  const auto frames = stream.WaitFrames(1);
  ASSERT_GE(frames.size(), 1u);
  EXPECT_EQ(OpeningCursor(frames[0]), FormatEventId({hub.store().History(), 0})) << frames[0];
}

TEST(StreamLoopbackTest, FreshAguiAndA2aStreamsOpenWithTheUsersPositionAsTheirCursor) {
  TestHub hub;
  const std::uint32_t history = hub.store().History();
  SseStream before(hub.port(), kA2aStream, AuthAs("alice"));
  ASSERT_EQ(before.WaitFrames(1).size(), 1u);
  EXPECT_EQ(OpeningCursor(before.WaitFrames(1)[0]), FormatEventId({history, 0}))
      << "before alice's first event";

  ASSERT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m", "one")).status, 200);
  const HttpReply last = PublishAgui(hub.port(), "alice", AguiText("alice", "m", "two"));
  ASSERT_EQ(last.status, 200);
  for (const char* stream : {kAguiStream, kA2aStream}) {
    SseStream after(hub.port(), stream, AuthAs("alice"));
    const auto frames = after.WaitFrames(1);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(OpeningCursor(frames[0]), EventIdOf(last))
        << stream << ": the user's newest event, whichever stream it went to";
  }
  // Another user's position is their own.
  SseStream bob(hub.port(), kAguiStream, AuthAs("bob"));
  EXPECT_EQ(OpeningCursor(bob.WaitFrames(1)[0]), FormatEventId({history, 0}));
  // The contexts stream's cursor is its snapshot's id; a resumed stream keeps the client's.
  SseStream contexts(hub.port(), kContextsStream, AuthAs("bob"));
  const auto snapshot = contexts.WaitFrames(2);
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0], kPreamble);
  EXPECT_EQ(FrameField(snapshot[1], "id"), FormatEventId({history, 0}));
  Headers resume = AuthAs("alice");
  resume.emplace_back("Last-Event-ID", EventIdOf(last));
  SseStream resumed(hub.port(), kAguiStream, resume);
  EXPECT_EQ(resumed.WaitFrames(1)[0], kPreamble);
}

// The gap this cursor closes: a stream that ends before its first event used to reconnect
// without Last-Event-ID and miss what was published in between.
TEST(StreamLoopbackTest, AStreamThatEndsBeforeItsFirstEventResumesFromItsOpeningCursorWithoutLoss) {
  TestHub hub;
  std::string agui_cursor;
  std::string contexts_cursor;
  {
    SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
    SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
    agui_cursor = OpeningCursor(agui.WaitFrames(1)[0]);
    const auto snapshot = contexts.WaitFrames(2);
    ASSERT_EQ(snapshot.size(), 2u);
    contexts_cursor = FrameField(snapshot[1], "id");
  }  // both end before any event
  ASSERT_FALSE(agui_cursor.empty());
  ASSERT_EQ(contexts_cursor, agui_cursor);
  std::vector<std::string> published;
  for (const char* delta : {"one", "two", "three"}) {
    const HttpReply reply = PublishAgui(hub.port(), "alice", AguiText("alice", "m", delta));
    ASSERT_EQ(reply.status, 200);
    published.push_back(EventIdOf(reply));
  }
  for (const auto& [stream, cursor] :
       {std::pair{kAguiStream, agui_cursor}, std::pair{kContextsStream, contexts_cursor}}) {
    Headers resume = AuthAs("alice");
    resume.emplace_back("Last-Event-ID", cursor);
    SseStream again(hub.port(), stream, resume);
    const auto frames = again.WaitFrames(4);
    ASSERT_EQ(frames.size(), 4u) << stream << ": " << again.body();
    EXPECT_EQ(frames[0], kPreamble) << "a resume: no reset, no snapshot";
    for (std::size_t i = 0; i < published.size(); ++i) {
      EXPECT_EQ(FrameField(frames[i + 1], "id"), published[i]) << stream;
    }
  }
}

TEST(StreamLoopbackTest, PublishedAguiEventArrivesBareWithIdAndOnContextsWrapped) {
  TestHub hub;
  SseStream agui(hub.port(), "/api/v1/stream/agui", {{"Authorization", TestHub::Bearer("alice")}});
  SseStream contexts(hub.port(), "/api/v1/stream/contexts",
                     {{"Authorization", TestHub::Bearer("alice")}});
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));

  const auto reply = PublishAgui(
      hub.port(), "alice",
      "{\n  \"user_id\": \"alice\",\n  \"type\": \"TEXT_MESSAGE_CONTENT\",\n"
      "  \"messageId\": \"m1\",\n  \"delta\": \"hi\\nthere\",\n  \"timestamp\": 1700000000000\n}");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find(R"("status":"broadcasted","connection_count":2,"event_id":")"),
            std::string::npos)
      << reply.body;

  const auto bare = agui.WaitFrameContaining("TEXT_MESSAGE_CONTENT");
  ASSERT_TRUE(bare);
  const std::string id = FrameField(*bare, "id");
  EXPECT_NE(reply.body.find("\"event_id\":\"" + id + "\""), std::string::npos);
  EXPECT_EQ(*bare, "id: " + id +
                       "\ndata: {\"type\":\"TEXT_MESSAGE_CONTENT\",\"messageId\":\"m1\","
                       "\"delta\":\"hi\\nthere\",\"timestamp\":1700000000000}\n\n");
  const auto wrapped = contexts.WaitFrameContaining("TEXT_MESSAGE_CONTENT");
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(*wrapped, "id: " + id +
                          "\ndata: {\"protocol\":\"agui\",\"event\":{\"type\":\"TEXT_MESSAGE_"
                          "CONTENT\",\"messageId\":\"m1\",\"delta\":\"hi\\nthere\","
                          "\"timestamp\":1700000000000}}\n\n");
}

}  // namespace
}  // namespace herald::testing
