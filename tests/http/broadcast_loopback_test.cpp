// POST /api/v1/webhook/broadcast (docs/MIGRATING.md): the original system's request shape turned
// into the CUSTOM events it produced, on the agui and contexts streams only; what Herald cannot
// produce answered with 422 naming the field; nothing delivered for a refused request.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "core/time_format.h"
#include "http/loopback_support.h"

namespace herald::testing {
namespace {

namespace json = boost::json;

constexpr char kBroadcast[] = "/api/v1/webhook/broadcast";

json::value Golden() {
  std::ifstream file(std::string(HERALD_GOLDEN_DIR) + "/original_broadcast.json");
  std::stringstream text;
  text << file.rdbuf();
  return json::parse(text.str());
}

// The data of an SSE frame, parsed.
json::object DataOf(const std::string& frame) {
  return json::parse(FrameField(frame, "data")).as_object();
}

TEST(BroadcastLoopbackTest, EveryOriginalRequestGetsItsCustomEventOrItsExactError) {
  const json::value golden = Golden();
  const json::array& cases = golden.at("cases").as_array();
  ASSERT_GE(cases.size(), 15u);
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
  ASSERT_EQ(a2a.WaitFrames(1).size(), 1u);
  ASSERT_EQ(contexts.WaitFrames(2).size(), 2u);

  std::vector<std::pair<std::string, json::object>> delivered;  // event id, expected event
  for (const json::value& item : cases) {
    const json::object& c = item.as_object();
    SCOPED_TRACE(std::string(c.at("name").as_string()));
    const json::object& expect = c.at("expect").as_object();
    const auto before = std::chrono::system_clock::now();
    const HttpReply reply = Request(hub.port(), "POST", kBroadcast, JsonAuthAs("alice"),
                                    json::serialize(c.at("request")));
    if (const auto* status = expect.if_contains("status")) {
      EXPECT_EQ(reply.status, status->as_int64()) << reply.body;
      if (const auto* field = expect.if_contains("field")) {
        const json::object error = json::parse(reply.body).as_object();
        EXPECT_EQ(error.at("code").as_string(), "validation_error");
        EXPECT_EQ(error.at("field").as_string(), field->as_string()) << reply.body;
      }
      continue;
    }
    ASSERT_EQ(reply.status, 200) << reply.body;
    const json::object answer = json::parse(reply.body).as_object();
    ASSERT_EQ(answer.size(), 4u) << reply.body;
    EXPECT_EQ(answer.at("status").as_string(), "broadcasted");
    EXPECT_EQ(answer.at("connection_count").as_int64(), 2) << "agui and contexts, not a2a";
    EXPECT_EQ(answer.at("event_type").as_string(), expect.at("name").as_string());
    const std::string id = EventIdOf(reply);

    const auto frame = agui.WaitFrameContaining("id: " + id + "\n");
    ASSERT_TRUE(frame);
    const json::object event = DataOf(*frame);
    EXPECT_EQ(event.at("type").as_string(), "CUSTOM");
    EXPECT_EQ(event.at("name"), expect.at("name"));
    EXPECT_EQ(event.at("value"), expect.at("value")) << json::serialize(event.at("value"));
    const auto stamped = ParseRfc3339(event.at("timestamp").as_string());
    ASSERT_TRUE(stamped) << "an RFC 3339 timestamp, as the original's";
    EXPECT_GE(*stamped, before - std::chrono::seconds(1));
    delivered.emplace_back(id, event);
  }

  // The contexts stream got each one wrapped, in order; a2a got nothing; a fence proves that
  // nothing from the refused requests is still on its way.
  const HttpReply fence = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "fence", "1"));
  ASSERT_EQ(fence.status, 200);
  ASSERT_TRUE(agui.WaitFrameContaining("fence"));
  ASSERT_TRUE(contexts.WaitFrameContaining("fence"));
  std::vector<std::pair<std::string, json::object>> wrapped;
  for (const std::string& frame : SplitFrames(contexts.body())) {
    if (FrameField(frame, "data").empty() || frame.find("fence") != std::string::npos) continue;
    const json::object data = DataOf(frame);
    if (data.at("protocol") != "agui") continue;  // the snapshot, CONTEXT_CREATED
    wrapped.emplace_back(FrameField(frame, "id"), data.at("event").as_object());
  }
  EXPECT_EQ(wrapped, delivered);
  EXPECT_EQ(SplitFrames(agui.body()).size(), 1 + delivered.size() + 1);
  const HttpReply a2a_fence =
      Request(hub.port(), "POST", kA2aWebhook, JsonAuthAs("alice"),
              R"({"user_id":"alice","type":"TASK_STATUS_UPDATE","taskId":"fence","contextId":"c",)"
              R"("state":"TASK_STATE_WORKING"})");
  ASSERT_EQ(a2a_fence.status, 200) << a2a_fence.body;
  const auto a2a_frames = a2a.WaitFrames(2);
  ASSERT_EQ(a2a_frames.size(), 2u);
  EXPECT_EQ(FrameField(a2a_frames[1], "id"), EventIdOf(a2a_fence)) << "nothing before the fence";
}

TEST(BroadcastLoopbackTest, AnIdempotencyKeyMakesARetryReturnTheSameEventWithoutDelivering) {
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
  const std::string body =
      R"({"event_type":"message_received","entity_id":"m-1","context_id":"c-1","user_id":"alice"})";
  Headers headers = JsonAuthAs("alice");
  headers.emplace_back("Idempotency-Key", "broadcast-1");
  const HttpReply first = Request(hub.port(), "POST", kBroadcast, headers, body);
  const HttpReply retry = Request(hub.port(), "POST", kBroadcast, headers, body);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(EventIdOf(retry), EventIdOf(first));
  EXPECT_EQ(retry.Header("idempotent-replayed"), "true");
  const HttpReply fence = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "fence", "1"));
  ASSERT_TRUE(agui.WaitFrameContaining("fence"));
  EXPECT_EQ(SplitFrames(agui.body()).size(), 3u) << "opening, the event once, the fence";
}

TEST(BroadcastLoopbackTest, AServiceTokenBroadcastsForAnyUserAndOthersGet403WithNothingDelivered) {
  TestHub hub;
  SseStream bob(hub.port(), kAguiStream, AuthAs("bob"));
  ASSERT_EQ(bob.WaitFrames(1).size(), 1u);
  const std::string body =
      R"({"event_type":"message_received","entity_id":"m-1","context_id":"c-1","user_id":"bob"})";
  const HttpReply refused = Request(hub.port(), "POST", kBroadcast, JsonAuthAs("alice"), body);
  EXPECT_EQ(refused.status, 403) << refused.body;
  const HttpReply service =
      Request(hub.port(), "POST", kBroadcast, JsonAuthAs("backend", "events:publish"), body);
  ASSERT_EQ(service.status, 200) << service.body;
  const auto frames = bob.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(FrameField(frames[1], "id"), EventIdOf(service));
  EXPECT_EQ(DataOf(frames[1]).at("value"), json::parse(R"({"messageId":"m-1"})"));
}

}  // namespace
}  // namespace herald::testing
