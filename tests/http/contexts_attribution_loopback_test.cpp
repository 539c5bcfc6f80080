// Attribution of webhook and batch events to contexts (spec §3.4): contexts created on first
// mention, ownership, malformed and placeholder ids, idempotent replays.
#include <gtest/gtest.h>

#include "http/contexts_support.h"

namespace herald::testing {
namespace {

// ---- Attribution of webhook and batch events (spec §3.4) ----------------------------------------

TEST(ContextsLoopbackTest, WebhookNamingANewContextCreatesItForItsUserBeforeTheEvent) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  struct Case {
    std::string name;
    const char* webhook;
    std::string caller;
    std::string scope;
    std::string context;
    std::string body;
    std::int64_t tasks;
  };
  const std::vector<Case> cases = {
      {"A2A contextId", kA2aWebhook, "alice", "", "from-a2a",
       R"({"user_id":"alice","type":"TASK_SUBMITTED","taskId":"t1","contextId":"from-a2a",)"
       R"("agentName":"planner"})",
       1},
      {"top-level context_id", kAguiWebhook, "alice", "", "from-field",
       R"({"user_id":"alice","context_id":"from-field","type":"TEXT_MESSAGE_CONTENT",)"
       R"("messageId":"m1","delta":"x","timestamp":1})",
       0},
      {"RUN_STARTED threadId", kAguiWebhook, "alice", "", "from-thread",
       R"({"user_id":"alice","type":"RUN_STARTED","threadId":"from-thread","runId":"r1"})", 0},
      {"a service publishing for alice", kA2aWebhook, "svc", kPublishScope, "from-service",
       R"({"user_id":"alice","type":"TASK_SUBMITTED","taskId":"t2","contextId":"from-service",)"
       R"("agentName":"planner"})",
       1},
      {"context_id over contextId", kA2aWebhook, "alice", "", "outer",
       R"({"user_id":"alice","context_id":"outer","type":"TASK_SUBMITTED","taskId":"t3",)"
       R"("contextId":"inner","agentName":"planner"})",
       1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::int64_t before = NowMillis();
    const HttpReply reply =
        Request(hub.port(), "POST", c.webhook, JsonAuthAs(c.caller, c.scope), c.body);
    const std::int64_t after = NowMillis();
    ASSERT_EQ(reply.status, 200) << reply.body;

    const std::string frame = contexts.Next();
    const json::object created = EventOf(frame, "system");
    ASSERT_FALSE(created.empty()) << frame;
    EXPECT_EQ(Str(created.at("type")), "CONTEXT_CREATED") << frame;
    EXPECT_EQ(Str(created.at("contextId")), c.context) << frame;
    const std::int64_t named_at = DefaultNameMillis(created.at("name"));
    EXPECT_GE(named_at, before) << frame;
    EXPECT_LE(named_at, after) << frame;
    EXPECT_EQ(SequenceOf(FrameField(frame, "id")) + 1, SequenceOf(EventIdOf(reply)))
        << "CONTEXT_CREATED comes right before the event";
    const std::string event_frame = contexts.Next();
    EXPECT_EQ(FrameField(event_frame, "id"), EventIdOf(reply));
    EXPECT_EQ(event_frame.find("\"context_id\""), std::string::npos)
        << "the routing field is not part of the event: " << event_frame;

    const json::value context = GetContext(hub.port(), "alice", c.context);
    ASSERT_TRUE(IsContext(context, "alice", true));
    EXPECT_EQ(context.at("name"), created.at("name"));
    EXPECT_EQ(Count(context, "task_count"), c.tasks);

    // A second event on it creates nothing more.
    const HttpReply again =
        Request(hub.port(), "POST", c.webhook, JsonAuthAs(c.caller, c.scope), c.body);
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(contexts.NextId(), EventIdOf(again));
  }
  std::set<std::string> listed;
  const json::value list = ListContexts(hub.port(), "alice");
  for (const json::value& entry : list.as_array()) {
    listed.insert(Str(entry.at("context_id")));
  }
  std::set<std::string> expected;
  for (const Case& c : cases) expected.insert(c.context);
  EXPECT_EQ(listed, expected) << "one context per case, none for a shadowed contextId";
  EXPECT_EQ(ListContexts(hub.port(), "svc"), json::array()) << "the service owns none";
}

TEST(ContextsLoopbackTest, DeletedContextNamedAgainByAWebhookComesBackAfreshWithZeroedCounts) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  const std::string submitted =
      R"({"user_id":"alice","type":"TASK_SUBMITTED","taskId":"t1","contextId":"trip",)"
      R"("agentName":"planner"})";
  const std::string message = R"({"user_id":"alice",)" + AgentMessage("t1", "trip").substr(1);
  ASSERT_EQ(PublishA2a(hub.port(), submitted).status, 200);
  ExpectContextEvent(contexts, "CONTEXT_CREATED", "trip", kDefaultName);
  EXPECT_NE(contexts.Next().find("TASK_SUBMITTED"), std::string::npos);
  ASSERT_EQ(PublishA2a(hub.port(), message).status, 200);
  EXPECT_NE(contexts.Next().find("AGENT_MESSAGE"), std::string::npos);
  const json::value first = GetContext(hub.port(), "alice", "trip");
  ASSERT_TRUE(IsContext(first, "alice", true));
  EXPECT_EQ(Count(first, "task_count"), 1);
  EXPECT_EQ(Count(first, "message_count"), 1);
  ASSERT_EQ(Request(hub.port(), "DELETE", ContextPath("trip"), AuthAs("alice")).status, 204);
  ExpectContextEvent(contexts, "CONTEXT_DELETED", "trip", std::nullopt);
  ASSERT_TRUE(ClockPast(MillisOf(first.at("updated_at"))));

  // The same task on the same id: a new context, whose counts start again.
  const HttpReply again = PublishA2a(hub.port(), submitted);
  ASSERT_EQ(again.status, 200) << again.body;
  ExpectContextEvent(contexts, "CONTEXT_CREATED", "trip", kDefaultName);
  EXPECT_EQ(contexts.NextId(), EventIdOf(again));
  const json::value second = GetContext(hub.port(), "alice", "trip");
  ASSERT_TRUE(IsContext(second, "alice", true));
  EXPECT_EQ(Count(second, "task_count"), 1) << "t1 counts again in the new context";
  EXPECT_EQ(Count(second, "message_count"), 0);
  EXPECT_TRUE(second.at("last_message_at").is_null());
  EXPECT_GT(MillisOf(second.at("created_at")), MillisOf(first.at("created_at")));
}

TEST(ContextsLoopbackTest, WebhookUsingAnotherUsersContextIdGivesTheCallerAContextOfTheirOwn) {
  TestHub hub;
  Frames alice_contexts(hub.port(), kContextsStream, "alice");
  Frames bob_a2a(hub.port(), kA2aStream, "bob");
  Frames bob_contexts(hub.port(), kContextsStream, "bob");
  OpenContexts(alice_contexts);
  OpenBare(bob_a2a);
  OpenContexts(bob_contexts);
  const json::value created = CreateContext(hub.port(), "bob", "bobs");
  ASSERT_TRUE(created.is_object());
  const std::string bobs = Str(created.at("context_id"));
  const std::string bob_created = ExpectContextEvent(bob_contexts, "CONTEXT_CREATED", bobs, "bobs");

  struct Case {
    std::string name;
    const char* webhook;
    std::string caller;
    std::string scope;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"A2A contextId", kA2aWebhook, "alice", "",
       R"({"user_id":"alice","type":"TASK_SUBMITTED","taskId":"t1","contextId":")" + bobs +
           R"(","agentName":"planner"})"},
      {"top-level context_id", kAguiWebhook, "alice", "",
       R"({"user_id":"alice","context_id":")" + bobs +
           R"(","type":"TEXT_MESSAGE_END","messageId":"m1"})"},
      {"top-level context_id on A2A", kA2aWebhook, "alice", "",
       R"({"user_id":"alice","context_id":")" + bobs +
           R"(","type":"JSON_RPC_RESPONSE","id":1,"result":{}})"},
      {"RUN_STARTED threadId", kAguiWebhook, "alice", "",
       R"({"user_id":"alice","type":"RUN_STARTED","threadId":")" + bobs + R"(","runId":"r1"})"},
      {"a service publishing for alice", kA2aWebhook, "svc", kPublishScope,
       R"({"user_id":"alice","type":"AGENT_MESSAGE","taskId":"t2","contextId":")" + bobs +
           R"(","messageId":"m2","content":"hi"})"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const HttpReply reply =
        Request(hub.port(), "POST", c.webhook, JsonAuthAs(c.caller, c.scope), c.body);
    ASSERT_EQ(reply.status, 200) << c.name << ": " << reply.body;
    EXPECT_EQ(reply.body.find("bob"), std::string::npos) << c.name << ": " << reply.body;
    // The first event creates alice's own context with that id, as for any id new to her.
    if (i == 0) ExpectContextEvent(alice_contexts, "CONTEXT_CREATED", bobs, kDefaultName);
    EXPECT_EQ(alice_contexts.NextId(), EventIdOf(reply)) << c.name;
  }

  // Alice's context counts her events; bob's is as he left it and none of his streams moved.
  const json::value alices = ListContexts(hub.port(), "alice");
  ASSERT_EQ(alices.as_array().size(), 1u) << json::serialize(alices);
  EXPECT_TRUE(IsContext(alices.at(0), "alice", true));
  EXPECT_EQ(Str(alices.at(0).at("context_id")), bobs);
  EXPECT_EQ(Count(alices.at(0), "task_count"), 2);
  EXPECT_EQ(Count(alices.at(0), "message_count"), 2);
  const json::value stored = GetContext(hub.port(), "bob", bobs);
  ASSERT_TRUE(IsContext(stored, "bob", true));
  EXPECT_EQ(Str(stored.at("name")), "bobs");
  EXPECT_EQ(Count(stored, "task_count"), 0);
  EXPECT_EQ(Count(stored, "message_count"), 0);
  EXPECT_EQ(stored.at("updated_at"), created.at("updated_at"));
  const std::string bob_fence = A2aFence(hub.port(), "bob");
  EXPECT_EQ(SequenceOf(bob_fence), SequenceOf(bob_created) + 1);
  EXPECT_EQ(bob_a2a.NextId(), bob_fence);
  EXPECT_EQ(bob_contexts.NextId(), bob_fence);
}

TEST(ContextsLoopbackTest, WebhookWithAMalformedContextIdIs422NamingContextId) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  const std::vector<std::pair<std::string, std::string>> values = {
      {"undefined", R"("undefined")"},
      {"null string", R"("null")"},
      {"__CONTEXT_LOADING__", R"("__CONTEXT_LOADING__")"},
      {"empty", R"("")"},
      {"dot dot", R"("..")"},
      {"slash", R"("a/b")"},
      {"backslash", R"("a\\b")"},
      {"newline", R"("a\nb")"},
      {"257 bytes", "\"" + std::string(257, 'c') + "\""},
      {"number", "5"},
      {"JSON null", "null"},
  };
  for (const char* webhook : {kAguiWebhook, kA2aWebhook}) {
    for (const auto& [name, value] : values) {
      const std::string body = std::string(webhook) == kAguiWebhook
                                   ? R"({"user_id":"alice","context_id":)" + value +
                                         R"(,"type":"TEXT_MESSAGE_END","messageId":"m1"})"
                                   : R"({"user_id":"alice","context_id":)" + value +
                                         R"(,"type":"JSON_RPC_RESPONSE","id":1,"result":{}})";
      const HttpReply reply = Request(hub.port(), "POST", webhook, JsonAuthAs("alice"), body);
      EXPECT_TRUE(IsError(reply, 422, "validation_error", "context_id")) << webhook << " " << name;
    }
  }
  const std::string fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(SequenceOf(fence), 1u) << "nothing was stored";
  EXPECT_EQ(contexts.NextId(), fence) << "nothing was delivered";
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array()) << "nothing was created";
}

TEST(ContextsLoopbackTest, BatchItemsUsingAnotherUsersContextIdAreStoredInTheirUsersOwnContext) {
  TestHub hub;
  Frames alice_contexts(hub.port(), kContextsStream, "alice");
  Frames bob_contexts(hub.port(), kContextsStream, "bob");
  OpenContexts(alice_contexts);
  OpenContexts(bob_contexts);
  const json::value created = CreateContext(hub.port(), "bob", "bobs");
  ASSERT_TRUE(created.is_object());
  const std::string bobs = Str(created.at("context_id"));
  ExpectContextEvent(bob_contexts, "CONTEXT_CREATED", bobs, "bobs");

  const auto text = [](const std::string& delta) {
    return R"("event":)" + AguiTextJson("m", delta, "1");
  };
  const std::string batch =
      std::string("[") +
      // 0: alice, no context.
      R"({"user_id":"alice","protocol":"agui",)" + text("zero") + "}," +
      // 1: alice, bob's id by context_id: alice's own context of that id, created now.
      R"({"user_id":"alice","protocol":"agui","context_id":")" + bobs + "\"," + text("one") + "}," +
      // 2: alice, bob's id by the A2A contextId: the same context of alice's.
      R"({"user_id":"alice","protocol":"a2a","event":)" + AgentMessage("t", bobs) + "}," +
      // 3: bob into his own context.
      R"({"user_id":"bob","protocol":"agui","context_id":")" + bobs + "\"," + text("three") + "}," +
      // 4: alice into a new context.
      R"({"user_id":"alice","protocol":"agui","context_id":"fresh",)" + text("four") + "}]";
  const HttpReply reply =
      Request(hub.port(), "POST", kBatch, JsonAuthAs("svc", kPublishScope), batch);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json::value body = json::parse(reply.body);
  EXPECT_EQ(body.at("accepted"), json::value(5)) << reply.body;
  EXPECT_EQ(body.at("rejected"), json::value(0)) << reply.body;
  const json::array& results = body.at("results").as_array();
  ASSERT_EQ(results.size(), 5u) << reply.body;
  std::vector<std::string> ids;
  for (const json::value& result : results) {
    EXPECT_EQ(result.at("status"), json::value(200)) << reply.body;
    ids.push_back(Str(result.at("event_id")));
  }

  // Alice: item 0, her context `bobs` created, items 1 and 2, `fresh` created, item 4.
  EXPECT_EQ(alice_contexts.NextId(), ids[0]);
  ExpectContextEvent(alice_contexts, "CONTEXT_CREATED", bobs, kDefaultName);
  EXPECT_EQ(alice_contexts.NextId(), ids[1]);
  EXPECT_EQ(alice_contexts.NextId(), ids[2]);
  ExpectContextEvent(alice_contexts, "CONTEXT_CREATED", "fresh", kDefaultName);
  EXPECT_EQ(alice_contexts.NextId(), ids[4]);
  // Each fence is published before its frame is awaited: in one EXPECT_EQ the order of the two
  // calls would be unspecified (clang waits first, and the frame never comes).
  const std::string alice_fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(alice_contexts.NextId(), alice_fence);
  // Bob: item 3 only, and his context counts only his own event.
  EXPECT_EQ(bob_contexts.NextId(), ids[3]);
  const std::string bob_fence = AguiFence(hub.port(), "bob");
  EXPECT_EQ(bob_contexts.NextId(), bob_fence);
  const json::value stored = GetContext(hub.port(), "bob", bobs);
  ASSERT_TRUE(IsContext(stored, "bob", true));
  EXPECT_EQ(Count(stored, "task_count"), 0) << "alice's task is not counted in bob's context";
  EXPECT_EQ(Count(stored, "message_count"), 0);
  const json::value alices = ListContexts(hub.port(), "alice");
  ASSERT_EQ(alices.as_array().size(), 2u) << json::serialize(alices);
  std::set<std::string> alice_ids;
  for (const json::value& context : alices.as_array()) {
    EXPECT_TRUE(IsContext(context, "alice", true));
    alice_ids.insert(Str(context.at("context_id")));
  }
  EXPECT_EQ(alice_ids, (std::set<std::string>{bobs, "fresh"}));
}

TEST(ContextsLoopbackTest, PlaceholderIdsInsideAnEventAreDeliveredButAttributeNothing) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  // The event's own contextId/threadId only attributes when it is a well-formed context id; the
  // event itself is valid and is delivered as sent.
  const std::vector<std::pair<const char*, std::string>> events = {
      {kA2aWebhook,
       R"({"user_id":"alice","type":"TASK_SUBMITTED","taskId":"t1","contextId":"undefined",)"
       R"("agentName":"a"})"},
      {kA2aWebhook, R"({"user_id":"alice",)" + AgentMessage("t1", "__CONTEXT_LOADING__").substr(1)},
      {kAguiWebhook, R"({"user_id":"alice","type":"RUN_STARTED","threadId":"null","runId":"r1"})"},
      {kAguiWebhook, R"({"user_id":"alice","type":"RUN_FINISHED","threadId":"a/b","runId":"r1"})"},
  };
  for (const auto& [webhook, body] : events) {
    const HttpReply reply = Request(hub.port(), "POST", webhook, JsonAuthAs("alice"), body);
    ASSERT_EQ(reply.status, 200) << body << " -> " << reply.body;
    EXPECT_EQ(contexts.NextId(), EventIdOf(reply)) << "no CONTEXT_CREATED before " << body;
  }
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array()) << "no placeholder context";
}

TEST(ContextsLoopbackTest, WithoutAutoCreateEventsNamingUnknownContextsCreateNoneButAreFiltered) {
  TestHubOptions options;
  options.hub.publisher.contexts_auto_create = false;  // --contexts-auto-create=false
  TestHub hub(options);
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  SseStream filtered(hub.port(), std::string(kAguiStream) + "?context_id=owned-elsewhere",
                     AuthAs("alice"));
  const HttpReply reply = Request(
      hub.port(), "POST", kAguiWebhook, JsonAuthAs("alice"),
      R"({"user_id":"alice","type":"RUN_STARTED","threadId":"owned-elsewhere","runId":"r1"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(contexts.NextId(), EventIdOf(reply)) << "no CONTEXT_CREATED before the event";
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array()) << "no placeholder context";
  const auto frame = filtered.WaitFrameContaining("RUN_STARTED");
  ASSERT_TRUE(frame) << "the event keeps its context for the ?context_id= filter";
  EXPECT_EQ(FrameField(*frame, "id"), EventIdOf(reply));
  // A context the other system created through the API counts as before.
  const std::string id = Create(hub.port(), "alice", "Kept in step");
  ASSERT_FALSE(id.empty());
  ExpectContextEvent(contexts, "CONTEXT_CREATED", id, "Kept in step");
  ASSERT_EQ(
      PublishA2a(hub.port(), R"({"user_id":"alice",)" + AgentMessage("t1", id).substr(1)).status,
      200);
  EXPECT_EQ(Count(GetContext(hub.port(), "alice", id), "message_count"), 1);
}

TEST(ContextsLoopbackTest, IdempotencyKeyOnContextEventsReplaysTheFirstAnswerAndDeliversOnce) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  const std::string id = Create(hub.port(), "alice", "c");
  ASSERT_FALSE(id.empty());
  ExpectContextEvent(contexts, "CONTEXT_CREATED", id, "c");
  Headers headers = JsonAuthAs("alice");
  headers.emplace_back("Idempotency-Key", "k1");
  const std::string envelope = R"({"protocol":"a2a","event":)" + AgentMessage("t1", id) + "}";

  const HttpReply first = Request(hub.port(), "POST", EventsPath(id), headers, envelope);
  const HttpReply retry = Request(hub.port(), "POST", EventsPath(id), headers, envelope);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.body, first.body);
  EXPECT_EQ(retry.Header("idempotent-replayed"), "true");
  EXPECT_EQ(contexts.NextId(), EventIdOf(first));
  const std::string fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(contexts.NextId(), fence) << "the retry delivered nothing";
  const json::value stored = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(stored.is_object());
  EXPECT_EQ(Count(stored, "message_count"), 1) << "the retry counted nothing";
}

}  // namespace
}  // namespace herald::testing
