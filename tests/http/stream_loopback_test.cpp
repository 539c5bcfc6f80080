// Streams on the wire (spec §1.1, §5): headers, framing, routing of published events.
#include <gtest/gtest.h>

#include "support/test_client.h"
#include "support/test_hub.h"

namespace herald::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpReply PublishAgui(unsigned short port, const std::string& bearer, const std::string& body) {
  return Request(port, "POST", "/api/v1/webhook/agui",
                 {{"Authorization", bearer}, {"Content-Type", "application/json"}}, body);
}

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
  EXPECT_EQ(frames[0], "retry: 2000\n:ok\n\n");
}

TEST(StreamLoopbackTest, PublishedAguiEventArrivesBareWithIdAndOnContextsWrapped) {
  TestHub hub;
  SseStream agui(hub.port(), "/api/v1/stream/agui", {{"Authorization", TestHub::Bearer("alice")}});
  SseStream contexts(hub.port(), "/api/v1/stream/contexts",
                     {{"Authorization", TestHub::Bearer("alice")}});
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));

  const auto reply = PublishAgui(
      hub.port(), TestHub::Bearer("alice"),
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
