// The contexts API's CRUD on the wire (spec §1.3): the envelope, names, the System events each
// change emits, and another user's contexts answering 404.
#include <gtest/gtest.h>

#include "http/contexts_support.h"

namespace herald::testing {
namespace {

// ---- Create -------------------------------------------------------------------------------------

TEST(ContextsLoopbackTest, CreateTrimsTheNameAndAnswers201WithTheSixFieldContext) {
  TestHub hub;
  const HttpReply reply =
      Request(hub.port(), "POST", kContexts, JsonAuthAs("alice"), NameBody("  x  "));
  json::value data;
  ASSERT_TRUE(IsEnvelope(reply, 201, data));
  ASSERT_TRUE(IsContext(data, "alice", false));
  EXPECT_EQ(Str(data.at("name")), "x");
  EXPECT_TRUE(IsUuidV4(Str(data.at("context_id")))) << reply.body;
  EXPECT_EQ(data.at("created_at"), data.at("updated_at"));
  const std::int64_t created = MillisOf(data.at("created_at"));
  EXPECT_LE(created, NowMillis());
  EXPECT_GT(created, NowMillis() - 60'000);

  const json::value stored = GetContext(hub.port(), "alice", Str(data.at("context_id")));
  ASSERT_TRUE(IsContext(stored, "alice", true));
  EXPECT_EQ(Str(stored.at("name")), "x");
  EXPECT_NE(Create(hub.port(), "alice", "x"), Str(data.at("context_id")))
      << "each create draws a fresh id";
}

TEST(ContextsLoopbackTest, CreateWithoutANameNamesItConversationAndTheCurrentUnixMillis) {
  TestHub hub;
  struct Case {
    std::string name;
    Headers headers;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"empty body without a content type", AuthAs("alice"), ""},
      {"empty object", JsonAuthAs("alice"), "{}"},
      {"null name", JsonAuthAs("alice"), R"({"name":null})"},
      {"other fields only", JsonAuthAs("alice"), R"({"kind":"other"})"},
  };
  std::set<std::string> ids;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::int64_t before = NowMillis();
    const HttpReply reply = Request(hub.port(), "POST", kContexts, c.headers, c.body);
    const std::int64_t after = NowMillis();
    json::value data;
    ASSERT_TRUE(IsEnvelope(reply, 201, data));
    ASSERT_TRUE(IsContext(data, "alice", false));
    const std::int64_t named_at = DefaultNameMillis(data.at("name"));
    EXPECT_GE(named_at, before) << reply.body;
    EXPECT_LE(named_at, after) << reply.body;
    ids.insert(Str(data.at("context_id")));
  }
  EXPECT_EQ(ids.size(), cases.size());
  EXPECT_EQ(ListContexts(hub.port(), "alice").as_array().size(), cases.size());
}

struct BadBody {
  std::string name;
  std::optional<std::string> content_type;  // nullopt: no Content-Type header
  std::string body;
  int status;
  std::string code;
};

// Names and bodies every write of a name (create and rename) refuses.
std::vector<BadBody> BadNameBodies() {
  const std::string json = "application/json";
  const std::string e_acute = "\xc3\xa9";  // 2 bytes
  std::string utf8_257;
  for (int i = 0; i < 128; ++i) utf8_257 += e_acute;
  utf8_257 += "a";
  return {
      {"empty name", json, NameBody(""), 400, "bad_request"},
      {"spaces only", json, NameBody("   "), 400, "bad_request"},
      {"white space only", json, NameBody(R"( \t\n\r\f )"), 400, "bad_request"},
      {"number", json, R"({"name":5})", 400, "bad_request"},
      {"boolean", json, R"({"name":true})", 400, "bad_request"},
      {"array", json, R"({"name":["x"]})", 400, "bad_request"},
      {"object", json, R"({"name":{"x":1}})", 400, "bad_request"},
      {"257 bytes after trim", json, NameBody("  " + std::string(257, 'n') + "  "), 400,
       "bad_request"},
      {"257 bytes of two-byte UTF-8", json, NameBody(utf8_257), 400, "bad_request"},
      {"\\u0001 inside", json, NameBody(R"(a\u0001b)"), 400, "bad_request"},
      {"NUL inside", json, NameBody(R"(a\u0000b)"), 400, "bad_request"},
      {"newline inside", json, NameBody(R"(a\nb)"), 400, "bad_request"},
      {"tab inside", json, NameBody(R"(a\tb)"), 400, "bad_request"},
      {"DEL inside", json, NameBody(R"(a\u007fb)"), 400, "bad_request"},
      {"C1 NEXT LINE inside", json, NameBody(R"(a\u0085b)"), 400, "bad_request"},
      {"C1 U+009F inside", json, NameBody(R"(a\u009fb)"), 400, "bad_request"},
      {"SSE injection", json, NameBody(R"(x\n\nid: 9\ndata: evil)"), 400, "bad_request"},
      {"invalid UTF-8", json,
       NameBody("a\xff"
                "b"),
       400, "bad_request"},
      {"not JSON", json, R"({"name":)", 400, "bad_request"},
      {"trailing garbage", json, NameBody("x") + "x", 400, "bad_request"},
      {"array body", json, "[" + NameBody("x") + "]", 400, "bad_request"},
      {"string body", json, R"("x")", 400, "bad_request"},
      {"null body", json, "null", 400, "bad_request"},
      {"text/plain", "text/plain", NameBody("x"), 415, "unsupported_media_type"},
      {"no content type", std::nullopt, NameBody("x"), 415, "unsupported_media_type"},
      {"json lookalike type", "application/jsonx", NameBody("x"), 415, "unsupported_media_type"},
  };
}

// A page on another site can make a browser POST with the user's cookie, but only a bodiless or
// text/plain one without asking (CORS preflight): with cookie auth the body must be JSON.
TEST(ContextsLoopbackTest, ACookieAuthenticatedCreateNeedsAJsonBodySoAnotherSiteCannotForgeIt) {
  TestHub hub;
  const Headers cookie = {{"Cookie", "access_token=" + TestHub::Token("alice")}};
  Headers text = cookie;
  text.emplace_back("Content-Type", "text/plain");
  EXPECT_TRUE(
      IsError(Request(hub.port(), "POST", kContexts, cookie, ""), 415, "unsupported_media_type"));
  EXPECT_TRUE(IsError(Request(hub.port(), "POST", kContexts, text, R"({"name":"x"})"), 415,
                      "unsupported_media_type"));
  json::value data;
  json::object meta;
  ASSERT_TRUE(IsEnvelope(Request(hub.port(), "GET", kContexts, cookie), 200, data, &meta));
  EXPECT_TRUE(data.as_array().empty()) << "nothing was created";
  Headers json_cookie = cookie;
  json_cookie.emplace_back("Content-Type", "application/json");
  EXPECT_TRUE(IsEnvelope(Request(hub.port(), "POST", kContexts, json_cookie, "{}"), 201, data));
}

TEST(ContextsLoopbackTest, CreateRefusesBadNamesAndBodiesCreatesNothingAndEmitsNothing) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  for (const BadBody& c : BadNameBodies()) {
    const HttpReply reply =
        Request(hub.port(), "POST", kContexts, WithContentType("alice", c.content_type), c.body);
    EXPECT_TRUE(IsError(reply, c.status, c.code)) << c.name;
  }
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array()) << "nothing was created";
  const std::string fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(contexts.NextId(), fence) << "no CONTEXT_CREATED was emitted";
}

TEST(ContextsLoopbackTest, NamesUpTo256BytesAfterTrimAreKeptByteForByte) {
  TestHub hub;
  std::string utf8_256;
  for (int i = 0; i < 128; ++i) utf8_256 += "\xc3\xa9";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {NameBody(R"( \t )" + std::string(256, 'n') + R"(\n )"), std::string(256, 'n')},
      {NameBody(utf8_256), utf8_256},
      {NameBody("a"), "a"},
      {NameBody(R"(Trip \"to\" Paris </script> \u00e9 \ud83d\ude80)"),
       "Trip \"to\" Paris </script> \xc3\xa9 \xf0\x9f\x9a\x80"},
      {NameBody("  inner  spaces  kept  "), "inner  spaces  kept"},
  };
  for (const auto& [body, name] : cases) {
    SCOPED_TRACE(body);
    const HttpReply reply = Request(hub.port(), "POST", kContexts, JsonAuthAs("alice"), body);
    json::value data;
    ASSERT_TRUE(IsEnvelope(reply, 201, data));
    EXPECT_EQ(Str(data.at("name")), name);
    const std::string id = Str(data.at("context_id"));
    json::value stored = GetContext(hub.port(), "alice", id);
    ASSERT_TRUE(stored.is_object());
    EXPECT_EQ(Str(stored.at("name")), name);

    // A rename keeps the same bytes.
    const HttpReply renamed =
        Request(hub.port(), "PUT", ContextPath(id), JsonAuthAs("alice"), body);
    ASSERT_TRUE(IsEnvelope(renamed, 200, data));
    EXPECT_EQ(Str(data.at("name")), name);
    stored = GetContext(hub.port(), "alice", id);
    ASSERT_TRUE(stored.is_object());
    EXPECT_EQ(Str(stored.at("name")), name);
  }
}

// ---- System events of CRUD ----------------------------------------------------------------------

TEST(ContextsLoopbackTest, CreateEmitsContextCreatedOnlyOnTheOwnersContextsStream) {
  TestHub hub;
  Frames agui(hub.port(), kAguiStream, "alice");
  Frames a2a(hub.port(), kA2aStream, "alice");
  Frames contexts(hub.port(), kContextsStream, "alice");
  Frames bob(hub.port(), kContextsStream, "bob");
  OpenBare(agui);
  OpenBare(a2a);
  OpenContexts(contexts);
  OpenContexts(bob);

  const std::string id = Create(hub.port(), "alice", "  trip  ");
  ASSERT_FALSE(id.empty());
  const std::string created = ExpectContextEvent(contexts, "CONTEXT_CREATED", id, "trip");

  const std::string agui_fence = AguiFence(hub.port(), "alice");
  const std::string a2a_fence = A2aFence(hub.port(), "alice");
  const std::string bob_fence = AguiFence(hub.port(), "bob");
  EXPECT_EQ(agui.NextId(), agui_fence) << "CONTEXT_CREATED never reaches the agui stream";
  EXPECT_EQ(a2a.NextId(), a2a_fence) << "CONTEXT_CREATED never reaches the a2a stream";
  EXPECT_EQ(contexts.NextId(), agui_fence);
  EXPECT_EQ(contexts.NextId(), a2a_fence);
  EXPECT_EQ(bob.NextId(), bob_fence) << "bob never sees alice's CONTEXT_CREATED";
  EXPECT_EQ(SequenceOf(created) + 1, SequenceOf(agui_fence)) << "the event is stored with an id";
}

TEST(ContextsLoopbackTest, RenameEmitsContextUpdatedAndDeleteEmitsContextDeleted) {
  TestHub hub;
  Frames agui(hub.port(), kAguiStream, "alice");
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenBare(agui);
  OpenContexts(contexts);

  const std::string id = Create(hub.port(), "alice", "a");
  ASSERT_FALSE(id.empty());
  const std::string created = ExpectContextEvent(contexts, "CONTEXT_CREATED", id, "a");

  HttpReply reply =
      Request(hub.port(), "PUT", ContextPath(id), JsonAuthAs("alice"), NameBody(" b "));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string updated = ExpectContextEvent(contexts, "CONTEXT_UPDATED", id, "b");

  reply = Request(hub.port(), "DELETE", ContextPath(id), AuthAs("alice"));
  ASSERT_EQ(reply.status, 204) << reply.body;
  const std::string deleted = ExpectContextEvent(contexts, "CONTEXT_DELETED", id, std::nullopt);

  EXPECT_EQ(SequenceOf(updated), SequenceOf(created) + 1);
  EXPECT_EQ(SequenceOf(deleted), SequenceOf(updated) + 1);
  const std::string fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(agui.NextId(), fence) << "System events never reach the agui stream";
  EXPECT_EQ(contexts.NextId(), fence);
}

// ---- Read, rename, delete -----------------------------------------------------------------------

TEST(ContextsLoopbackTest, ListShowsOnlyTheCallersContextsNewestUpdatedFirstWithStatistics) {
  TestHub hub;
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array()) << "an empty list, not an error";
  std::vector<std::string> ids;
  std::int64_t last = 0;
  for (const std::string name : {"one", "two", "three"}) {
    const json::value data = CreateContext(hub.port(), "alice", name);
    ASSERT_TRUE(data.is_object());
    ids.push_back(Str(data.at("context_id")));
    last = MillisOf(data.at("updated_at"));
    ASSERT_TRUE(ClockPast(last));
  }
  ASSERT_FALSE(Create(hub.port(), "bob", "bobs").empty());

  json::value list = ListContexts(hub.port(), "alice");
  ASSERT_EQ(list.as_array().size(), 3u) << json::serialize(list);
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const json::value& entry = list.at(i);
    ASSERT_TRUE(IsContext(entry, "alice", true));
    EXPECT_EQ(Str(entry.at("context_id")), ids[2 - i]) << json::serialize(list);
    EXPECT_EQ(Count(entry, "task_count"), 0);
    EXPECT_EQ(Count(entry, "message_count"), 0);
    EXPECT_TRUE(entry.at("last_message_at").is_null());
  }

  // An agent message on the oldest moves it to the top, with its statistics.
  PostEvent(hub.port(), "alice", ids[0],
            R"({"protocol":"a2a","event":)" + AgentMessage("t1", ids[0]) + "}");
  list = ListContexts(hub.port(), "alice");
  ASSERT_EQ(list.as_array().size(), 3u) << json::serialize(list);
  const json::value& first = list.at(0);
  ASSERT_TRUE(IsContext(first, "alice", true));
  EXPECT_EQ(Str(first.at("context_id")), ids[0]) << json::serialize(list);
  EXPECT_EQ(Str(list.at(1).at("context_id")), ids[2]);
  EXPECT_EQ(Str(list.at(2).at("context_id")), ids[1]);
  EXPECT_EQ(Count(first, "task_count"), 1);
  EXPECT_EQ(Count(first, "message_count"), 1);
  EXPECT_GT(MillisOf(first.at("updated_at")), last);
  EXPECT_EQ(first.at("last_message_at"), first.at("updated_at"));

  const json::value bobs = ListContexts(hub.port(), "bob");
  ASSERT_EQ(bobs.as_array().size(), 1u) << json::serialize(bobs);
  EXPECT_TRUE(IsContext(bobs.at(0), "bob", true));
  EXPECT_EQ(Str(bobs.at(0).at("name")), "bobs");
}

TEST(ContextsLoopbackTest, GetAnswersOneContextShapedLikeItsListEntry) {
  TestHub hub;
  const std::string id = Create(hub.port(), "alice", "chat");
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(Create(hub.port(), "alice", "other").empty());
  const std::string end = R"({"type":"TEXT_MESSAGE_END","messageId":"m1"})";
  PostEvent(hub.port(), "alice", id, R"({"protocol":"agui","event":)" + end + "}");

  const json::value context = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(IsContext(context, "alice", true));
  EXPECT_EQ(Str(context.at("context_id")), id);
  EXPECT_EQ(Str(context.at("name")), "chat");
  EXPECT_EQ(Count(context, "message_count"), 1);
  EXPECT_EQ(Count(context, "task_count"), 0);
  EXPECT_TRUE(IsRfc3339(context.at("last_message_at")));
  const json::value list = ListContexts(hub.port(), "alice");
  bool listed = false;
  for (const json::value& entry : list.as_array()) {
    if (Str(entry.at("context_id")) == id) {
      listed = true;
      EXPECT_EQ(entry, context);
    }
  }
  EXPECT_TRUE(listed) << json::serialize(list);
}

TEST(ContextsLoopbackTest, RenameAnswersTheRenamedContextAndMovesUpdatedAt) {
  TestHub hub;
  const json::value created = CreateContext(hub.port(), "alice", "before");
  ASSERT_TRUE(created.is_object());
  const std::string id = Str(created.at("context_id"));
  ASSERT_TRUE(ClockPast(MillisOf(created.at("updated_at"))));

  const HttpReply reply =
      Request(hub.port(), "PUT", ContextPath(id), JsonAuthAs("alice"), NameBody("  after  "));
  json::value data;
  ASSERT_TRUE(IsEnvelope(reply, 200, data));
  ASSERT_TRUE(IsContext(data, "alice", false));
  EXPECT_EQ(Str(data.at("context_id")), id);
  EXPECT_EQ(Str(data.at("name")), "after");
  EXPECT_EQ(data.at("created_at"), created.at("created_at"));
  EXPECT_GT(MillisOf(data.at("updated_at")), MillisOf(created.at("updated_at")));

  const json::value stored = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(stored.is_object());
  EXPECT_EQ(Str(stored.at("name")), "after");
  EXPECT_EQ(stored.at("updated_at"), data.at("updated_at"));
}

TEST(ContextsLoopbackTest, RenameRefusesAMissingOrBadNameAndChangesNothing) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  const json::value created = CreateContext(hub.port(), "alice", "same");
  ASSERT_TRUE(created.is_object());
  const std::string id = Str(created.at("context_id"));
  ExpectContextEvent(contexts, "CONTEXT_CREATED", id, "same");

  std::vector<BadBody> cases = BadNameBodies();
  const std::string json = "application/json";
  cases.push_back({"no name", json, "{}", 400, "bad_request"});
  cases.push_back({"null name", json, R"({"name":null})", 400, "bad_request"});
  cases.push_back({"other fields only", json, R"({"kind":"x"})", 400, "bad_request"});
  cases.push_back({"empty body", json, "", 400, "bad_request"});
  for (const BadBody& c : cases) {
    const HttpReply reply = Request(hub.port(), "PUT", ContextPath(id),
                                    WithContentType("alice", c.content_type), c.body);
    EXPECT_TRUE(IsError(reply, c.status, c.code)) << c.name;
  }
  const json::value stored = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(stored.is_object());
  EXPECT_EQ(Str(stored.at("name")), "same");
  EXPECT_EQ(stored.at("updated_at"), created.at("updated_at"));
  const std::string fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(contexts.NextId(), fence) << "no CONTEXT_UPDATED was emitted";
}

TEST(ContextsLoopbackTest, DeleteAnswers204AndTheContextIsGoneOnEveryRoute) {
  TestHub hub;
  const std::string id = Create(hub.port(), "alice", "doomed");
  const std::string kept = Create(hub.port(), "alice", "kept");
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(kept.empty());

  const HttpReply reply = Request(hub.port(), "DELETE", ContextPath(id), AuthAs("alice"));
  EXPECT_EQ(reply.status, 204);
  EXPECT_EQ(reply.body, "");

  EXPECT_TRUE(
      IsError(Request(hub.port(), "GET", ContextPath(id), AuthAs("alice")), 404, "not_found"));
  EXPECT_TRUE(
      IsError(Request(hub.port(), "DELETE", ContextPath(id), AuthAs("alice")), 404, "not_found"));
  EXPECT_TRUE(
      IsError(Request(hub.port(), "PUT", ContextPath(id), JsonAuthAs("alice"), NameBody("back")),
              404, "not_found"));
  const std::string event = R"({"protocol":"agui","event":)" + AguiTextJson("m", "x", "1") + "}";
  EXPECT_TRUE(IsError(Request(hub.port(), "POST", EventsPath(id), JsonAuthAs("alice"), event), 404,
                      "not_found"));
  const json::value list = ListContexts(hub.port(), "alice");
  ASSERT_EQ(list.as_array().size(), 1u) << json::serialize(list);
  EXPECT_EQ(Str(list.at(0).at("context_id")), kept);
}

TEST(ContextsLoopbackTest, AnotherUsersContextIsNotFoundToGetRenameAndDeleteAndStaysUnchanged) {
  TestHub hub;
  Frames alice_contexts(hub.port(), kContextsStream, "alice");
  Frames bob_contexts(hub.port(), kContextsStream, "bob");
  OpenContexts(alice_contexts);
  OpenContexts(bob_contexts);
  const json::value created = CreateContext(hub.port(), "alice", "alice-private");
  ASSERT_TRUE(created.is_object());
  const std::string id = Str(created.at("context_id"));
  ExpectContextEvent(alice_contexts, "CONTEXT_CREATED", id, "alice-private");

  const std::vector<HttpReply> replies = {
      Request(hub.port(), "GET", ContextPath(id), AuthAs("bob")),
      Request(hub.port(), "PUT", ContextPath(id), JsonAuthAs("bob"), NameBody("bobs now")),
      Request(hub.port(), "DELETE", ContextPath(id), AuthAs("bob")),
      Request(hub.port(), "DELETE", ContextPath(id), AuthAs("bob")),
  };
  for (const HttpReply& reply : replies) {
    EXPECT_TRUE(IsError(reply, 404, "not_found"));
    EXPECT_EQ(reply.body.find("alice"), std::string::npos) << reply.body;
  }
  // The same answer as for a context that never existed.
  const HttpReply unknown = Request(hub.port(), "GET", ContextPath("no-such"), AuthAs("bob"));
  ASSERT_TRUE(IsError(unknown, 404, "not_found"));
  EXPECT_EQ(json::parse(unknown.body).at("message"), json::parse(replies[0].body).at("message"));

  const json::value stored = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(stored.is_object()) << "the owner still has the context";
  EXPECT_EQ(Str(stored.at("name")), "alice-private");
  EXPECT_EQ(stored.at("updated_at"), created.at("updated_at"));
  const std::string alice_fence = AguiFence(hub.port(), "alice");
  const std::string bob_fence = AguiFence(hub.port(), "bob");
  EXPECT_EQ(alice_contexts.NextId(), alice_fence) << "no event reached the owner";
  EXPECT_EQ(bob_contexts.NextId(), bob_fence) << "no event reached bob";
}

TEST(ContextsLoopbackTest, UnknownWellFormedIdsAreNotFoundOnEveryRouteIncludingEvents) {
  TestHub hub;
  const std::string event = R"({"protocol":"agui","event":)" + AguiTextJson("m", "x", "1") + "}";
  const std::vector<std::pair<std::string, std::string>> ids = {
      {"uuid", "00000000-0000-4000-8000-000000000000"},
      {"256 bytes", std::string(256, 'a')},
      {"three dots", "..."},
      {"dot inside", "a.b"},
      {"encoded three dots", "%2E%2E%2E"},
      {"placeholder lookalike", "undefinedx"},
      {"UTF-8", "caf%C3%A9"},
      {"encoded space", "a%20b"},
  };
  for (const auto& [name, id] : ids) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(
        IsError(Request(hub.port(), "GET", ContextPath(id), AuthAs("alice")), 404, "not_found"));
    EXPECT_TRUE(
        IsError(Request(hub.port(), "PUT", ContextPath(id), JsonAuthAs("alice"), NameBody("n")),
                404, "not_found"));
    EXPECT_TRUE(
        IsError(Request(hub.port(), "DELETE", ContextPath(id), AuthAs("alice")), 404, "not_found"));
    EXPECT_TRUE(IsError(Request(hub.port(), "POST", EventsPath(id), JsonAuthAs("alice"), event),
                        404, "not_found"));
  }
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array()) << "nothing was created";
}

}  // namespace
}  // namespace herald::testing
