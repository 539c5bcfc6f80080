// Contexts owned by another system (docs/MIGRATING.md): a service token keeps a user's context
// table in step with its own ids, over REST (?user_id=) and with CONTEXT_* system events; the
// snapshot reflects what that system said, and nothing else is invented.
#include "http/contexts_support.h"

namespace herald::testing {
namespace {

constexpr char kService[] = "backend";

// The CONTEXT_* events (wrapped system events) a contexts stream got after its snapshot.
std::vector<json::object> SystemEvents(SseStream& stream) {
  std::vector<json::object> out;
  for (const std::string& frame : SplitFrames(stream.body())) {
    const std::string data = FrameField(frame, "data");
    if (data.empty()) continue;
    json::object wrapped = json::parse(data).as_object();
    if (wrapped.at("protocol") != "system") continue;
    json::object event = wrapped.at("event").as_object();
    if (event.at("type") == "CONTEXTS_SNAPSHOT") continue;
    event.erase("timestamp");
    out.push_back(std::move(event));
  }
  return out;
}

// The (context_id, name) pairs of a fresh snapshot of `user`.
std::vector<std::pair<std::string, std::string>> Snapshot(unsigned short port,
                                                          const std::string& user) {
  SseStream stream(port, kContextsStream, AuthAs(user));
  const auto frames = stream.WaitFrames(2);
  std::vector<std::pair<std::string, std::string>> out;
  if (frames.size() < 2) return out;
  const json::value data = json::parse(FrameField(frames[1], "data"));
  for (const auto& entry : data.at("event").at("contexts").as_array()) {
    out.emplace_back(Str(entry.at("context_id")), Str(entry.at("name")));
  }
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(ContextsSyncLoopbackTest, AServiceTokenCreatesRenamesAndDeletesAUsersContextWithItsOwnId) {
  TestHub hub;
  SseStream stream(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(stream.WaitFrames(2).size(), 2u);
  const Headers service = JsonAuthAs(kService, kPublishScope);
  const std::string path = ContextPath("conv-42") + "?user_id=alice";

  json::value data;
  ASSERT_TRUE(IsEnvelope(Request(hub.port(), "POST", std::string(kContexts) + "?user_id=alice",
                                 service, R"({"context_id":"conv-42","name":"Trip"})"),
                         201, data));
  EXPECT_TRUE(IsContext(data, "alice", false));
  EXPECT_EQ(Str(data.at("context_id")), "conv-42");
  EXPECT_EQ(Snapshot(hub.port(), "alice"), (Pairs{{"conv-42", "Trip"}}));

  ASSERT_TRUE(
      IsEnvelope(Request(hub.port(), "PUT", path, service, NameBody("Trip to Oslo")), 200, data));
  EXPECT_EQ(Str(data.at("name")), "Trip to Oslo");
  EXPECT_EQ(Snapshot(hub.port(), "alice"), (Pairs{{"conv-42", "Trip to Oslo"}}));
  ASSERT_TRUE(IsEnvelope(Request(hub.port(), "GET", path, service), 200, data));
  EXPECT_EQ(Str(data.at("user_id")), "alice");

  const HttpReply deleted = Request(hub.port(), "DELETE", path, service);
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_TRUE(Snapshot(hub.port(), "alice").empty());
  EXPECT_TRUE(Snapshot(hub.port(), kService).empty()) << "nothing was created for the service";

  ASSERT_TRUE(stream.WaitFrameContaining("CONTEXT_DELETED"));
  EXPECT_EQ(
      SystemEvents(stream),
      (std::vector<json::object>{
          json::parse(R"({"type":"CONTEXT_CREATED","contextId":"conv-42","name":"Trip"})")
              .as_object(),
          json::parse(R"({"type":"CONTEXT_UPDATED","contextId":"conv-42","name":"Trip to Oslo"})")
              .as_object(),
          json::parse(R"({"type":"CONTEXT_DELETED","contextId":"conv-42"})").as_object()}));
}

TEST(ContextsSyncLoopbackTest, ActingForAnotherUserNeedsThePublishScopeAndAWellFormedUser) {
  TestHub hub;
  const std::string create = std::string(kContexts) + "?user_id=bob";
  EXPECT_TRUE(IsError(Request(hub.port(), "POST", create, JsonAuthAs("alice"), NameBody("x")), 403,
                      "forbidden"));
  EXPECT_TRUE(IsError(Request(hub.port(), "GET", create, AuthAs("alice")), 403, "forbidden"));
  EXPECT_TRUE(IsError(Request(hub.port(), "POST", std::string(kContexts) + "?user_id=%01",
                              JsonAuthAs(kService, kPublishScope), NameBody("x")),
                      400, "bad_request"));
  // Naming oneself needs no scope.
  json::value data;
  EXPECT_TRUE(IsEnvelope(Request(hub.port(), "POST", std::string(kContexts) + "?user_id=alice",
                                 JsonAuthAs("alice"), R"({"context_id":"mine"})"),
                         201, data));
  EXPECT_TRUE(Snapshot(hub.port(), "bob").empty());
  EXPECT_EQ(Snapshot(hub.port(), "alice").size(), 1u);
}

TEST(ContextsSyncLoopbackTest,
     CreatingAnIdTheUserHasIs409AndChangesNothingWhileAnotherUserMayUseIt) {
  TestHub hub;
  const Headers service = JsonAuthAs(kService, kPublishScope);
  json::value data;
  ASSERT_TRUE(IsEnvelope(Request(hub.port(), "POST", std::string(kContexts) + "?user_id=alice",
                                 service, R"({"context_id":"conv-1","name":"First"})"),
                         201, data));
  SseStream stream(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(stream.WaitFrames(2).size(), 2u);
  EXPECT_TRUE(IsError(Request(hub.port(), "POST", std::string(kContexts) + "?user_id=alice",
                              service, R"({"context_id":"conv-1","name":"Second"})"),
                      409, "conflict"));
  // Ids are per user: bob's conv-1 is a context of his own.
  ASSERT_TRUE(IsEnvelope(Request(hub.port(), "POST", std::string(kContexts) + "?user_id=bob",
                                 service, R"({"context_id":"conv-1","name":"Bobs"})"),
                         201, data));
  EXPECT_TRUE(IsError(
      Request(hub.port(), "POST", kContexts, JsonAuthAs("alice"), R"({"context_id":"undefined"})"),
      400, "bad_request"));
  EXPECT_EQ(Snapshot(hub.port(), "alice"), (Pairs{{"conv-1", "First"}}));
  EXPECT_EQ(Snapshot(hub.port(), "bob"), (Pairs{{"conv-1", "Bobs"}}));
  // A fence: the only event since the stream opened.
  ASSERT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m", "fence", "1")).status, 200);
  ASSERT_TRUE(stream.WaitFrameContaining("fence"));
  EXPECT_TRUE(SystemEvents(stream).empty()) << stream.body();
}

// With --contexts-auto-create=false, the system events are the only way a context comes to be.
TEST(ContextsSyncLoopbackTest, SystemContextEventsKeepTheTableInStepAndAreDeliveredOnce) {
  TestHubOptions options;
  options.hub.publisher.contexts_auto_create = false;
  TestHub hub(options);
  SseStream stream(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(stream.WaitFrames(2).size(), 2u);
  const auto publish = [&](const std::string& user, const std::string& event) {
    const std::string body =
        R"([{"protocol":"system","user_id":")" + user + R"(","event":)" + event + "}]";
    const HttpReply reply =
        Request(hub.port(), "POST", kBatch, JsonAuthAs(kService, kPublishScope), body);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body).at("results").at(0).as_object();
  };

  auto result =
      publish("alice", R"({"type":"CONTEXT_CREATED","contextId":"c-7","name":"Elsewhere"})");
  EXPECT_EQ(result.at("status").as_int64(), 200) << json::serialize(result);
  EXPECT_EQ(Snapshot(hub.port(), "alice"), (Pairs{{"c-7", "Elsewhere"}}));
  publish("alice", R"({"type":"CONTEXT_UPDATED","contextId":"c-7","name":"Renamed"})");
  EXPECT_EQ(Snapshot(hub.port(), "alice"), (Pairs{{"c-7", "Renamed"}}));
  // Ids are per user: bob's update is an upsert of his own c-7, like any explicit system event,
  // and alice's is untouched.
  result = publish("bob", R"({"type":"CONTEXT_UPDATED","contextId":"c-7","name":"Mine"})");
  EXPECT_EQ(result.at("status").as_int64(), 200) << json::serialize(result);
  EXPECT_EQ(Snapshot(hub.port(), "bob"), (Pairs{{"c-7", "Mine"}}));
  EXPECT_EQ(Snapshot(hub.port(), "alice"), (Pairs{{"c-7", "Renamed"}}));
  result = publish("alice", R"({"type":"CONTEXT_CREATED","contextId":"undefined","name":"x"})");
  EXPECT_EQ(result.at("status").as_int64(), 422) << json::serialize(result);
  EXPECT_EQ(result.at("field").as_string(), "event.contextId");
  publish("alice", R"({"type":"CONTEXT_DELETED","contextId":"c-7"})");
  EXPECT_TRUE(Snapshot(hub.port(), "alice").empty());
  // An event naming the deleted context creates nothing (auto-create is off).
  ASSERT_EQ(PublishAgui(hub.port(), "alice",
                        R"({"user_id":"alice","type":"RUN_STARTED","threadId":"c-7",)"
                        R"("runId":"r-1"})")
                .status,
            200);
  EXPECT_TRUE(Snapshot(hub.port(), "alice").empty());
  EXPECT_EQ(Snapshot(hub.port(), "bob"), (Pairs{{"c-7", "Mine"}}));

  ASSERT_TRUE(stream.WaitFrameContaining("RUN_STARTED"));
  EXPECT_EQ(SystemEvents(stream),
            (std::vector<json::object>{
                json::parse(R"({"type":"CONTEXT_CREATED","contextId":"c-7","name":"Elsewhere"})")
                    .as_object(),
                json::parse(R"({"type":"CONTEXT_UPDATED","contextId":"c-7","name":"Renamed"})")
                    .as_object(),
                json::parse(R"({"type":"CONTEXT_DELETED","contextId":"c-7"})").as_object()}))
      << "each once: the hub adds none of its own";
}

}  // namespace
}  // namespace herald::testing
