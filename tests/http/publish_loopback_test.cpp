// Publishing on the wire (spec §1.2, §3.1, §3.3, §4): routing to the protocol stream and the
// contexts stream, compact re-encoding, added timestamps, ids and the response body.
#include <gtest/gtest.h>

#include <regex>

#include "core/event_id.h"
#include "http/loopback_support.h"

namespace herald::testing {
namespace {

const std::regex kRfc3339Timestamp(R"re("timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")re");
const std::regex kMillisTimestamp(R"re("timestamp":\d{13}\})re");

HttpReply PublishA2a(unsigned short port, const std::string& user, const std::string& body) {
  return Request(port, "POST", kA2aWebhook, JsonAuthAs(user), body);
}

std::uint64_t SequenceOf(const std::string& id) {
  const auto parsed = ParseEventId(id);
  return parsed ? parsed->sequence : 0;
}

TEST(PublishLoopbackTest, A2aEventArrivesBareOnA2aAndWrappedOnContexts) {
  TestHub hub;
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));

  // Pretty-printed, over several lines: delivered as one compact data line.
  const HttpReply reply = PublishA2a(hub.port(), "alice",
                                     "{\n  \"user_id\": \"alice\",\n"
                                     "  \"type\": \"TASK_STATUS_UPDATE\",\n"
                                     "  \"taskId\": \"t1\",\n  \"contextId\": \"c1\",\n"
                                     "  \"state\": \"TASK_STATE_WORKING\",\n"
                                     "  \"timestamp\": \"2026-01-02T03:04:05Z\"\n}\n");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string id = EventIdOf(reply);
  EXPECT_EQ(reply.body, BroadcastedBody(2, id));

  const std::string json = R"({"type":"TASK_STATUS_UPDATE","taskId":"t1","contextId":"c1",)"
                           R"("state":"TASK_STATE_WORKING","timestamp":"2026-01-02T03:04:05Z"})";
  const auto bare = a2a.WaitFrames(2);
  ASSERT_EQ(bare.size(), 2u);
  EXPECT_EQ(bare[1], "id: " + id + "\ndata: " + json + "\n\n");
  const auto wrapped = contexts.WaitFrameContaining("TASK_STATUS_UPDATE");
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(*wrapped, "id: " + id + "\ndata: {\"protocol\":\"a2a\",\"event\":" + json + "}\n\n");
}

TEST(PublishLoopbackTest, AguiPrettyPrintedBodyArrivesAsOneDataLineOnBothStreams) {
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));

  const HttpReply reply = PublishAgui(hub.port(), "alice",
                                      "{\r\n\t\"user_id\" : \"alice\" ,\r\n"
                                      "\t\"type\" : \"CUSTOM\",\r\n\t\"name\" : \"n\",\r\n"
                                      "\t\"value\" : {\r\n\t\t\"a\" : [ 1 , 2 ],\r\n"
                                      "\t\t\"extra\" : null\r\n\t},\r\n"
                                      "\t\"unknownField\" : true,\r\n"
                                      "\t\"timestamp\" : 5\r\n}");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string id = EventIdOf(reply);
  const std::string json =
      R"({"type":"CUSTOM","name":"n","value":{"a":[1,2],"extra":null},"unknownField":true,)"
      R"("timestamp":5})";
  const auto bare = agui.WaitFrames(2);
  ASSERT_EQ(bare.size(), 2u);
  EXPECT_EQ(bare[1], "id: " + id + "\ndata: " + json + "\n\n");
  const auto wrapped = contexts.WaitFrameContaining("\"CUSTOM\"");
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(*wrapped, "id: " + id + "\ndata: {\"protocol\":\"agui\",\"event\":" + json + "}\n\n");
}

TEST(PublishLoopbackTest, ProtocolStreamsCarryOnlyTheirOwnProtocol) {
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));

  const HttpReply a2a_event =
      PublishA2a(hub.port(), "alice",
                 R"({"user_id":"alice","type":"AGENT_MESSAGE","taskId":"t1","contextId":"c1",)"
                 R"("messageId":"m9","content":"from a2a","timestamp":"2026-01-01T00:00:00Z"})");
  ASSERT_EQ(a2a_event.status, 200) << a2a_event.body;
  const HttpReply agui_event =
      PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "from agui", "7"));
  ASSERT_EQ(agui_event.status, 200) << agui_event.body;
  // A second of each: the first frame after each one's own event must be the next own event.
  const HttpReply a2a_fence =
      PublishA2a(hub.port(), "alice",
                 R"({"user_id":"alice","type":"JSON_RPC_RESPONSE","id":1,"result":"a2a fence",)"
                 R"("timestamp":"2026-01-01T00:00:00Z"})");
  ASSERT_EQ(a2a_fence.status, 200) << a2a_fence.body;
  const HttpReply agui_fence =
      PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "agui fence", "8"));
  ASSERT_EQ(agui_fence.status, 200) << agui_fence.body;

  const auto agui_frames = agui.WaitFrames(3);
  ASSERT_EQ(agui_frames.size(), 3u);
  EXPECT_EQ(agui_frames[1], "id: " + EventIdOf(agui_event) +
                                "\ndata: " + AguiTextJson("m1", "from agui", "7") + "\n\n");
  EXPECT_EQ(agui_frames[2], "id: " + EventIdOf(agui_fence) +
                                "\ndata: " + AguiTextJson("m1", "agui fence", "8") + "\n\n");

  const auto a2a_frames = a2a.WaitFrames(3);
  ASSERT_EQ(a2a_frames.size(), 3u);
  EXPECT_EQ(FrameField(a2a_frames[1], "id"), EventIdOf(a2a_event));
  EXPECT_NE(a2a_frames[1].find("from a2a"), std::string::npos) << a2a_frames[1];
  EXPECT_EQ(FrameField(a2a_frames[2], "id"), EventIdOf(a2a_fence));
  EXPECT_NE(a2a_frames[2].find("a2a fence"), std::string::npos) << a2a_frames[2];

  // The contexts stream sees all four, wrapped, in publish order.
  std::vector<std::string> ids;
  for (const char* needle : {"from a2a", "from agui", "a2a fence", "agui fence"}) {
    const auto frame = contexts.WaitFrameContaining(needle);
    ASSERT_TRUE(frame) << needle;
    ids.push_back(FrameField(*frame, "id"));
  }
  EXPECT_EQ(ids, (std::vector<std::string>{EventIdOf(a2a_event), EventIdOf(agui_event),
                                           EventIdOf(a2a_fence), EventIdOf(agui_fence)}));
}

TEST(PublishLoopbackTest, MissingTimestampIsAddedAsMillisForAguiAndRfc3339ForA2a) {
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  ASSERT_EQ(a2a.WaitFrames(1).size(), 1u);
  ASSERT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "no time")).status, 200);
  ASSERT_EQ(PublishA2a(hub.port(), "alice",
                       R"({"user_id":"alice","type":"TASK_SUBMITTED","taskId":"t1",)"
                       R"("contextId":"c1","agentName":"planner"})")
                .status,
            200);

  const auto agui_frames = agui.WaitFrames(2);
  ASSERT_EQ(agui_frames.size(), 2u);
  const std::string agui_data = FrameField(agui_frames[1], "data");
  EXPECT_EQ(agui_data.rfind(R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1",)"
                            R"("delta":"no time","timestamp":)",
                            0),
            0u)
      << agui_data;
  EXPECT_TRUE(std::regex_search(agui_data, kMillisTimestamp)) << agui_data;
  // Close to now (same clock, generous bound).
  const auto millis = std::stoll(agui_data.substr(agui_data.rfind(':') + 1));
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LE(std::abs(now_ms - millis), 60'000);

  const auto a2a_frames = a2a.WaitFrames(2);
  ASSERT_EQ(a2a_frames.size(), 2u);
  const std::string a2a_data = FrameField(a2a_frames[1], "data");
  EXPECT_EQ(a2a_data.rfind(R"({"type":"TASK_SUBMITTED","taskId":"t1","contextId":"c1",)"
                           R"("agentName":"planner","timestamp":")",
                           0),
            0u)
      << a2a_data;
  EXPECT_TRUE(std::regex_search(a2a_data, kRfc3339Timestamp)) << a2a_data;
  EXPECT_EQ(a2a_data.back(), '}');
}

TEST(PublishLoopbackTest, EventIdsIncreasePerUserAcrossProtocols) {
  TestHub hub;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    const HttpReply agui =
        PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "a" + std::to_string(i)));
    ASSERT_EQ(agui.status, 200) << agui.body;
    ids.push_back(EventIdOf(agui));
    // Another user's events in between do not disturb alice's order.
    ASSERT_EQ(PublishAgui(hub.port(), "bob", AguiText("bob", "m1", "b")).status, 200);
    const HttpReply a2a =
        PublishA2a(hub.port(), "alice",
                   R"({"user_id":"alice","type":"JSON_RPC_RESPONSE","id":"r1","result":{}})");
    ASSERT_EQ(a2a.status, 200) << a2a.body;
    ids.push_back(EventIdOf(a2a));
  }
  for (std::size_t i = 1; i < ids.size(); ++i) {
    ASSERT_TRUE(ParseEventId(ids[i])) << ids[i];
    EXPECT_GT(SequenceOf(ids[i]), SequenceOf(ids[i - 1])) << ids[i - 1] << " then " << ids[i];
    EXPECT_EQ(ParseEventId(ids[i])->history, ParseEventId(ids[0])->history);
  }
}

TEST(PublishLoopbackTest, ConnectionCountCountsTheProtocolStreamAndContextsConnections) {
  TestHub hub;
  // Nobody listening.
  HttpReply reply = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "x"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, BroadcastedBody(0, EventIdOf(reply)));
  EXPECT_FALSE(EventIdOf(reply).empty());

  SseStream agui1(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream agui2(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  SseStream bobs(hub.port(), kAguiStream, AuthAs("bob"));
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));

  reply = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "y"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, BroadcastedBody(3, EventIdOf(reply)));  // 2 agui + 1 contexts

  reply = PublishA2a(hub.port(), "alice",
                     R"({"user_id":"alice","type":"JSON_RPC_RESPONSE","id":1,"result":null})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, BroadcastedBody(2, EventIdOf(reply)));  // 1 a2a + 1 contexts

  reply = PublishAgui(hub.port(), "carol", AguiText("carol", "m1", "z"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, BroadcastedBody(0, EventIdOf(reply)));

  // Every counted connection did receive it.
  EXPECT_TRUE(agui1.WaitFrameContaining("\"delta\":\"y\""));
  EXPECT_TRUE(agui2.WaitFrameContaining("\"delta\":\"y\""));
  EXPECT_TRUE(contexts.WaitFrameContaining("\"delta\":\"y\""));
  EXPECT_TRUE(a2a.WaitFrameContaining("JSON_RPC_RESPONSE"));
}

TEST(PublishLoopbackTest, ReplyIsJsonWithNoStoreCaching) {
  TestHub hub;
  const HttpReply reply = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "x"));
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_EQ(reply.Header("content-length"), std::to_string(reply.body.size()));
}

}  // namespace
}  // namespace herald::testing
