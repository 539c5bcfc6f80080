// /api/v1/core/contexts/{id}/events on the wire (spec §1.2): routing by protocol, ownership, bad
// envelopes, and two users who never see each other's contexts.
#include <gtest/gtest.h>

#include "http/contexts_support.h"

namespace herald::testing {
namespace {

// ---- /contexts/{id}/events ----------------------------------------------------------------------

TEST(ContextsLoopbackTest, EventsOnAnOwnedContextRouteByProtocolAndAnswerWithContextAndEventId) {
  TestHub hub;
  Frames agui(hub.port(), kAguiStream, "alice");
  Frames agui_too(hub.port(), kAguiStream, "alice");
  Frames a2a(hub.port(), kA2aStream, "alice");
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenBare(agui);
  OpenBare(agui_too);
  OpenBare(a2a);
  OpenContexts(contexts);
  const std::string id = Create(hub.port(), "alice", "routes");
  ASSERT_FALSE(id.empty());
  ExpectContextEvent(contexts, "CONTEXT_CREATED", id, "routes");

  const auto post = [&](const std::string& protocol, const std::string& event) {
    return Request(hub.port(), "POST", EventsPath(id), JsonAuthAs("alice"),
                   R"({"protocol":")" + protocol + R"(","event":)" + event + "}");
  };
  const auto success = [&id](const std::string& protocol, int count, const std::string& event_id) {
    return R"({"success":true,"protocol":")" + protocol + R"(","broadcast_count":)" +
           std::to_string(count) + R"(,"context_id":")" + id + R"(","event_id":")" + event_id +
           "\"}";
  };

  // AG-UI: both agui connections and the contexts stream.
  const std::string text = AguiTextJson("m1", "hello", "1");
  HttpReply reply = post("agui", text);
  const std::string agui_id = EventIdOf(reply);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, success("agui", 3, agui_id));
  EXPECT_EQ(agui.Next(), "id: " + agui_id + "\ndata: " + text + "\n\n");
  EXPECT_EQ(agui_too.Next(), "id: " + agui_id + "\ndata: " + text + "\n\n");
  EXPECT_EQ(contexts.Next(),
            "id: " + agui_id + "\ndata: {\"protocol\":\"agui\",\"event\":" + text + "}\n\n");

  // A2A: the a2a connection and the contexts stream; the path's context wins over contextId.
  const std::string message =
      R"({"type":"AGENT_MESSAGE","taskId":"t1","contextId":"elsewhere","messageId":"m2",)"
      R"("content":"hi","timestamp":"2025-01-01T00:00:00Z"})";
  reply = post("a2a", message);
  const std::string a2a_id = EventIdOf(reply);
  EXPECT_EQ(reply.body, success("a2a", 2, a2a_id));
  EXPECT_EQ(a2a.Next(), "id: " + a2a_id + "\ndata: " + message + "\n\n");
  EXPECT_EQ(contexts.Next(),
            "id: " + a2a_id + "\ndata: {\"protocol\":\"a2a\",\"event\":" + message + "}\n\n");

  // System: the contexts stream only.
  const std::string heartbeat = R"({"type":"HEARTBEAT","timestamp":"2025-01-01T00:00:00Z"})";
  reply = post("system", heartbeat);
  const std::string system_id = EventIdOf(reply);
  EXPECT_EQ(reply.body, success("system", 1, system_id));
  EXPECT_EQ(contexts.Next(), "id: " + system_id + "\ndata: {\"protocol\":\"system\",\"event\":" +
                                 heartbeat + "}\n\n");

  // Nothing crossed protocols: each stream's next frame is its fence.
  const std::string agui_fence = AguiFence(hub.port(), "alice");
  const std::string a2a_fence = A2aFence(hub.port(), "alice");
  EXPECT_EQ(agui.NextId(), agui_fence);
  EXPECT_EQ(agui_too.NextId(), agui_fence);
  EXPECT_EQ(a2a.NextId(), a2a_fence);
  EXPECT_EQ(contexts.NextId(), agui_fence);
  EXPECT_EQ(SequenceOf(a2a_id), SequenceOf(agui_id) + 1);
  EXPECT_EQ(SequenceOf(system_id), SequenceOf(a2a_id) + 1);

  // The events were attributed to {id}: one task, one message; no "elsewhere" context.
  const json::value list = ListContexts(hub.port(), "alice");
  ASSERT_EQ(list.as_array().size(), 1u) << json::serialize(list);
  EXPECT_EQ(Str(list.at(0).at("context_id")), id);
  EXPECT_EQ(Count(list.at(0), "task_count"), 1);
  EXPECT_EQ(Count(list.at(0), "message_count"), 1);
}

TEST(ContextsLoopbackTest, EventsOnAnotherUsersOrAnUnknownContextAreNotFoundAlike) {
  TestHub hub;
  Frames alice_contexts(hub.port(), kContextsStream, "alice");
  Frames bob_contexts(hub.port(), kContextsStream, "bob");
  Frames bob_agui(hub.port(), kAguiStream, "bob");
  OpenContexts(alice_contexts);
  OpenContexts(bob_contexts);
  OpenBare(bob_agui);
  const json::value created = CreateContext(hub.port(), "alice", "alice-private");
  ASSERT_TRUE(created.is_object());
  const std::string id = Str(created.at("context_id"));
  const std::string created_id =
      ExpectContextEvent(alice_contexts, "CONTEXT_CREATED", id, "alice-private");
  const std::string bob_before = AguiFence(hub.port(), "bob");
  ASSERT_EQ(bob_agui.NextId(), bob_before);
  ASSERT_EQ(bob_contexts.NextId(), bob_before);

  const std::string event =
      R"({"protocol":"agui","event":{"type":"TEXT_MESSAGE_END","messageId":"m1"}})";
  const std::string task = R"({"protocol":"a2a","event":)" + AgentMessage("t1", id) + "}";
  const HttpReply others = Request(hub.port(), "POST", EventsPath(id), JsonAuthAs("bob"), event);
  const HttpReply others_a2a = Request(hub.port(), "POST", EventsPath(id), JsonAuthAs("bob"), task);
  const HttpReply unknown =
      Request(hub.port(), "POST", EventsPath("bobs-unknown"), JsonAuthAs("bob"), event);
  for (const HttpReply* reply : {&others, &others_a2a, &unknown}) {
    EXPECT_TRUE(IsError(*reply, 404, "not_found"));
    EXPECT_EQ(reply->body.find("alice"), std::string::npos) << reply->body;
  }
  EXPECT_EQ(json::parse(others.body).at("message"), json::parse(unknown.body).at("message"))
      << "another user's context and a missing one are indistinguishable";

  // Nothing stored, delivered or created; alice's context unchanged.
  const std::string bob_after = AguiFence(hub.port(), "bob");
  EXPECT_EQ(SequenceOf(bob_after), SequenceOf(bob_before) + 1) << "no event of bob was stored";
  EXPECT_EQ(bob_agui.NextId(), bob_after);
  EXPECT_EQ(bob_contexts.NextId(), bob_after);
  const std::string alice_fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(alice_contexts.NextId(), alice_fence);
  EXPECT_EQ(SequenceOf(alice_fence), SequenceOf(created_id) + 1);
  EXPECT_EQ(ListContexts(hub.port(), "bob"), json::array()) << "the unknown one was not created";
  const json::value stored = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(stored.is_object());
  EXPECT_EQ(Count(stored, "message_count"), 0);
  EXPECT_EQ(Count(stored, "task_count"), 0);
  EXPECT_EQ(stored.at("updated_at"), created.at("updated_at"));
}

TEST(ContextsLoopbackTest, BadEventsEnvelopesGet422NamingTheFieldAndDeliverNothing) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  const std::string id = Create(hub.port(), "alice", "c");
  ASSERT_FALSE(id.empty());
  const std::string created = ExpectContextEvent(contexts, "CONTEXT_CREATED", id, "c");

  const std::string json = "application/json";
  const std::string text = AguiTextJson("m", "x", "1");
  struct Case {
    std::string name;
    std::optional<std::string> content_type;
    std::string body;
    int status;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"unknown protocol", json, R"({"protocol":"bogus","event":)" + text + "}", 422,
       "validation_error", "protocol"},
      {"upper-case protocol", json, R"({"protocol":"AGUI","event":)" + text + "}", 422,
       "validation_error", "protocol"},
      {"no protocol", json, R"({"event":)" + text + "}", 422, "validation_error", "protocol"},
      {"protocol not a string", json, R"({"protocol":1,"event":)" + text + "}", 422,
       "validation_error", "protocol"},
      {"no event", json, R"({"protocol":"agui"})", 422, "validation_error", "event"},
      {"event a string", json, R"({"protocol":"agui","event":"x"})", 422, "validation_error",
       "event"},
      {"event an array", json, R"({"protocol":"agui","event":[)" + text + "]}", 422,
       "validation_error", "event"},
      {"event null", json, R"({"protocol":"agui","event":null})", 422, "validation_error", "event"},
      {"missing messageId", json,
       R"({"protocol":"agui","event":{"type":"TEXT_MESSAGE_CONTENT","delta":"x"}})", 422,
       "validation_error", "event.messageId"},
      {"wrong field type", json,
       R"({"protocol":"agui","event":{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":5}})",
       422, "validation_error", "event.delta"},
      {"unknown type", json, R"({"protocol":"agui","event":{"type":"NOPE"}})", 422,
       "validation_error", "event.type"},
      {"a2a type on agui", json, R"({"protocol":"agui","event":)" + AgentMessage("t", id) + "}",
       422, "validation_error", "event.type"},
      {"agui type on system", json, R"({"protocol":"system","event":)" + text + "}", 422,
       "validation_error", "event.type"},
      {"missing a2a field", json,
       R"({"protocol":"a2a","event":{"type":"AGENT_MESSAGE","taskId":"t","contextId":"c"}})", 422,
       "validation_error", "event.messageId"},
      {"array body", json, "[]", 422, "validation_error", "body"},
      {"not JSON", json, R"({"protocol":)", 400, "bad_request", ""},
      {"empty body", json, "", 400, "bad_request", ""},
      {"text/plain", "text/plain", R"({"protocol":"agui","event":)" + text + "}", 415,
       "unsupported_media_type", ""},
      {"no content type", std::nullopt, R"({"protocol":"agui","event":)" + text + "}", 415,
       "unsupported_media_type", ""},
  };
  for (const Case& c : cases) {
    const HttpReply reply = Request(hub.port(), "POST", EventsPath(id),
                                    WithContentType("alice", c.content_type), c.body);
    EXPECT_TRUE(IsError(reply, c.status, c.code, c.field)) << c.name;
  }
  const std::string fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(contexts.NextId(), fence) << "nothing was delivered";
  EXPECT_EQ(SequenceOf(fence), SequenceOf(created) + 1) << "nothing was stored";
  const json::value stored = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(stored.is_object());
  EXPECT_EQ(Count(stored, "task_count"), 0);
}

// ---- Isolation ----------------------------------------------------------------------------------

TEST(ContextsLoopbackTest, BobNeverSeesAlicesContextsOrTheirEventsOnAnyRoute) {
  TestHub hub;
  const std::string secret = "alice-secret-name";
  const std::string id = Create(hub.port(), "alice", secret);
  ASSERT_FALSE(id.empty());
  PostEvent(hub.port(), "alice", id,
            R"({"protocol":"a2a","event":)" + AgentMessage("t1", id) + "}");
  const json::value before = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(before.is_object());

  Frames bob_contexts(hub.port(), kContextsStream, "bob");
  Frames bob_filtered(hub.port(), std::string(kContextsStream) + "?context_id=" + id, "bob");
  Frames bob_a2a(hub.port(), kA2aStream, "bob");
  EXPECT_EQ(OpenContexts(bob_contexts), json::array()) << "bob's snapshot lists none of alice's";
  EXPECT_EQ(OpenContexts(bob_filtered), json::array()) << "nor when bob filters on her context";
  OpenBare(bob_a2a);

  const std::string envelope = R"({"protocol":"a2a","event":)" + AgentMessage("t2", id) + "}";
  const std::vector<std::pair<std::string, HttpReply>> replies = {
      {"list", Request(hub.port(), "GET", kContexts, AuthAs("bob"))},
      {"get", Request(hub.port(), "GET", ContextPath(id), AuthAs("bob"))},
      {"rename", Request(hub.port(), "PUT", ContextPath(id), JsonAuthAs("bob"), NameBody("mine"))},
      {"delete", Request(hub.port(), "DELETE", ContextPath(id), AuthAs("bob"))},
      {"events", Request(hub.port(), "POST", EventsPath(id), JsonAuthAs("bob"), envelope)},
  };
  json::value list;
  json::object meta;
  EXPECT_TRUE(IsEnvelope(replies[0].second, 200, list, &meta));
  EXPECT_EQ(meta.at("total"), json::value(0));
  EXPECT_EQ(list, json::array());
  EXPECT_TRUE(IsError(replies[1].second, 404, "not_found"));
  EXPECT_TRUE(IsError(replies[2].second, 404, "not_found"));
  EXPECT_TRUE(IsError(replies[3].second, 404, "not_found"));
  EXPECT_TRUE(IsError(replies[4].second, 404, "not_found"));
  for (const auto& [route, reply] : replies) {
    EXPECT_EQ(reply.body.find("alice"), std::string::npos) << route << ": " << reply.body;
    EXPECT_EQ(reply.body.find(secret), std::string::npos) << route << ": " << reply.body;
  }

  // Alice's further events on her context reach none of bob's streams.
  PostEvent(hub.port(), "alice", id, envelope);
  const std::string fence = A2aFence(hub.port(), "bob");
  EXPECT_EQ(bob_a2a.NextId(), fence);
  EXPECT_EQ(bob_contexts.NextId(), fence);
  EXPECT_EQ(bob_filtered.ArrivingWithin(200ms), 0u) << "nor bob's stream filtered on her context";

  // Alice's context is as she left it, plus her own event; her snapshot lists it.
  const json::value after = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(after.is_object());
  EXPECT_EQ(Str(after.at("name")), secret);
  EXPECT_EQ(Count(after, "message_count"), Count(before, "message_count") + 1);
  Frames alice_contexts(hub.port(), kContextsStream, "alice");
  const json::array snapshot = OpenContexts(alice_contexts);
  ASSERT_EQ(snapshot.size(), 1u) << json::serialize(snapshot);
  EXPECT_EQ(Str(snapshot[0].at("context_id")), id);
  EXPECT_EQ(Str(snapshot[0].at("name")), secret);
}

}  // namespace
}  // namespace herald::testing
