// The contexts API on the wire (spec §1.2, §1.3, §1.5, §2, §3.4): CRUD with its envelope and its
// System events, /contexts/{id}/events routing and ownership, attribution of webhook and batch
// events to contexts, hostile ids and names, and two users who never see each other's contexts.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <regex>
#include <set>
#include <tuple>

#include "core/time_format.h"
#include "http/loopback_support.h"

namespace herald::testing {
namespace {

namespace json = boost::json;

constexpr char kContexts[] = "/api/v1/core/contexts";
constexpr char kBatch[] = "/api/v1/events";
constexpr char kPublishScope[] = "events:publish";

std::string ContextPath(const std::string& id) { return std::string(kContexts) + "/" + id; }
std::string EventsPath(const std::string& id) { return ContextPath(id) + "/events"; }

// ---- JSON checks --------------------------------------------------------------------------------

std::string Str(const json::value& value) {
  return value.is_string() ? std::string(value.get_string())
                           : "<not a string: " + json::serialize(value) + ">";
}

std::set<std::string> KeysOf(const json::object& object) {
  std::set<std::string> keys;
  for (const auto& member : object) keys.emplace(member.key());
  return keys;
}

bool IsRfc3339(const json::value& value) {
  static const std::regex kFormat(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  return value.is_string() && std::regex_match(Str(value), kFormat);
}

bool IsUuidV4(const std::string& text) {
  static const std::regex kUuid(
      R"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})");
  return std::regex_match(text, kUuid);
}

std::int64_t NowMillis() { return ToUnixMillis(std::chrono::system_clock::now()); }

// The Unix milliseconds of an RFC 3339 string (-1 when it is not one).
std::int64_t MillisOf(const json::value& value) {
  if (!value.is_string()) return -1;
  const auto time = ParseRfc3339(Str(value));
  return time ? ToUnixMillis(*time) : -1;
}

// Waits (bounded) until the wall clock is past `ms`, so that the next write gets a later time.
bool ClockPast(std::int64_t ms) {
  return WaitUntil([ms] { return NowMillis() > ms; });
}

// The millisecond count of a default name "Conversation <unix-ms>" (-1 when it is not one).
std::int64_t DefaultNameMillis(const json::value& name) {
  static const std::regex kDefault(R"(Conversation (\d{13}))");
  std::smatch match;
  const std::string text = Str(name);
  return std::regex_match(text, match, kDefault) ? std::stoll(match[1].str()) : -1;
}

// The per-user sequence of an event id "<history>-<sequence>" (0 when malformed).
std::uint64_t SequenceOf(const std::string& event_id) {
  const auto dash = event_id.find('-');
  return dash == std::string::npos ? 0 : std::stoull(event_id.substr(dash + 1));
}

// An error of spec §1.5: exactly {"code","message","timestamp"} (+ "field" for a 422).
::testing::AssertionResult IsError(const HttpReply& reply, int status, const std::string& code,
                                   const std::string& field = "") {
  const auto failure = [&reply] {
    return ::testing::AssertionFailure() << reply.status << " " << reply.body << ": ";
  };
  if (reply.status != status) return failure() << "expected status " << status;
  if (reply.Header("content-type") != "application/json") return failure() << "content type";
  boost::system::error_code ec;
  const json::value body = json::parse(reply.body, ec);
  if (ec || !body.is_object()) return failure() << "not a JSON object";
  const json::object& error = body.get_object();
  std::set<std::string> keys{"code", "message", "timestamp"};
  if (!field.empty()) keys.insert("field");
  if (KeysOf(error) != keys) return failure() << "unexpected keys";
  if (Str(error.at("code")) != code) return failure() << "expected code " << code;
  if (!error.at("message").is_string() || error.at("message").get_string().empty()) {
    return failure() << "no message";
  }
  if (!IsRfc3339(error.at("timestamp"))) return failure() << "timestamp";
  if (!field.empty() && Str(error.at("field")) != field) return failure() << "expected " << field;
  if (status == 401 && reply.Header("www-authenticate") != "Bearer") {
    return failure() << "no WWW-Authenticate: Bearer";
  }
  return ::testing::AssertionSuccess();
}

// The success envelope of spec §1.3; its "data" is stored in `data`.
::testing::AssertionResult IsEnvelope(const HttpReply& reply, int status, json::value& data) {
  const auto failure = [&reply] {
    return ::testing::AssertionFailure() << reply.status << " " << reply.body << ": ";
  };
  if (reply.status != status) return failure() << "expected status " << status;
  if (reply.Header("content-type") != "application/json") return failure() << "content type";
  boost::system::error_code ec;
  const json::value body = json::parse(reply.body, ec);
  if (ec || !body.is_object()) return failure() << "not a JSON object";
  if (KeysOf(body.get_object()) != std::set<std::string>{"data", "meta"}) {
    return failure() << "envelope keys";
  }
  const json::value& meta = body.at("meta");
  if (!meta.is_object() ||
      KeysOf(meta.get_object()) != std::set<std::string>{"timestamp", "version"} ||
      !IsRfc3339(meta.at("timestamp")) || Str(meta.at("version")) != "1.0.0") {
    return failure() << "meta";
  }
  data = body.at("data");
  return ::testing::AssertionSuccess();
}

// A context of spec §1.3 owned by `user`: the six fields, plus the statistics when `stats`.
::testing::AssertionResult IsContext(const json::value& value, const std::string& user,
                                     bool stats) {
  const auto failure = [&value] {
    return ::testing::AssertionFailure() << json::serialize(value) << ": ";
  };
  if (!value.is_object()) return failure() << "not an object";
  const json::object& context = value.get_object();
  std::set<std::string> keys{"context_id", "user_id", "name", "kind", "created_at", "updated_at"};
  if (stats) keys.insert({"task_count", "message_count", "last_message_at"});
  if (KeysOf(context) != keys) return failure() << "unexpected keys";
  if (!context.at("context_id").is_string() || context.at("context_id").get_string().empty()) {
    return failure() << "context_id";
  }
  if (Str(context.at("user_id")) != user) return failure() << "expected user_id " << user;
  if (!context.at("name").is_string()) return failure() << "name";
  if (Str(context.at("kind")) != "conversation") return failure() << "kind";
  if (!IsRfc3339(context.at("created_at")) || !IsRfc3339(context.at("updated_at"))) {
    return failure() << "times";
  }
  if (MillisOf(context.at("updated_at")) < MillisOf(context.at("created_at"))) {
    return failure() << "updated_at before created_at";
  }
  if (stats) {
    if (!context.at("task_count").is_number() || !context.at("message_count").is_number()) {
      return failure() << "counts";
    }
    const json::value& last = context.at("last_message_at");
    if (!last.is_null() && !IsRfc3339(last)) return failure() << "last_message_at";
  }
  return ::testing::AssertionSuccess();
}

std::int64_t Count(const json::value& context, const char* key) {
  return context.at(key).to_number<std::int64_t>();
}

// ---- Requests -----------------------------------------------------------------------------------

std::string NameBody(const std::string& name) { return R"({"name":")" + name + "\"}"; }

// Creates a context for `user` through the API; its data ("null" after a recorded failure).
json::value CreateContext(unsigned short port, const std::string& user, const std::string& name) {
  const HttpReply reply = Request(port, "POST", kContexts, JsonAuthAs(user), NameBody(name));
  json::value data;
  EXPECT_TRUE(IsEnvelope(reply, 201, data));
  return data;
}

std::string Create(unsigned short port, const std::string& user, const std::string& name) {
  const json::value data = CreateContext(port, user, name);
  return data.is_object() ? Str(data.at("context_id")) : std::string();
}

// GET /contexts/{id} as `user`: the context with statistics ("null" when not 200).
json::value GetContext(unsigned short port, const std::string& user, const std::string& id) {
  json::value data;
  const HttpReply reply = Request(port, "GET", ContextPath(id), AuthAs(user));
  if (reply.status != 200) return nullptr;
  EXPECT_TRUE(IsEnvelope(reply, 200, data));
  return data;
}

// GET /contexts as `user`: the list ("null" after a recorded failure).
json::value ListContexts(unsigned short port, const std::string& user) {
  json::value data;
  EXPECT_TRUE(IsEnvelope(Request(port, "GET", kContexts, AuthAs(user)), 200, data));
  EXPECT_TRUE(data.is_array()) << json::serialize(data);
  return data;
}

// POST /contexts/{id}/events as `user`, expected to succeed; the event id.
std::string PostEvent(unsigned short port, const std::string& user, const std::string& id,
                      const std::string& envelope) {
  const HttpReply reply = Request(port, "POST", EventsPath(id), JsonAuthAs(user), envelope);
  EXPECT_EQ(reply.status, 200) << envelope << " -> " << reply.body;
  return EventIdOf(reply);
}

// An A2A AGENT_MESSAGE: a message of task `task` on context `context` (no timestamp).
std::string AgentMessage(const std::string& task, const std::string& context) {
  return R"({"type":"AGENT_MESSAGE","taskId":")" + task + R"(","contextId":")" + context +
         R"(","messageId":"m","content":"hi"})";
}

HttpReply PublishA2a(unsigned short port, const std::string& body) {
  return Request(port, "POST", kA2aWebhook, JsonAuthAs("alice"), body);
}

// An unattributed AG-UI event for `user`: a stream whose next frame is this one received nothing
// else before it.
std::string AguiFence(unsigned short port, const std::string& user) {
  const HttpReply reply = PublishAgui(port, user, AguiText(user, "fence", "fence"));
  EXPECT_EQ(reply.status, 200) << reply.body;
  return EventIdOf(reply);
}

// The same on the A2A stream (JSON_RPC_RESPONSE names no context).
std::string A2aFence(unsigned short port, const std::string& user) {
  const HttpReply reply =
      Request(port, "POST", kA2aWebhook, JsonAuthAs(user),
              R"({"user_id":")" + user + R"(","type":"JSON_RPC_RESPONSE","id":1,"result":{}})");
  EXPECT_EQ(reply.status, 200) << reply.body;
  return EventIdOf(reply);
}

// ---- Streams ------------------------------------------------------------------------------------

// One SSE stream read in order: Next() waits (bounded) for the frame after those already taken.
class Frames {
 public:
  Frames(unsigned short port, const std::string& target, const std::string& user)
      : stream_(port, target, AuthAs(user)) {}

  int status() const { return stream_.status(); }
  // The next frame, or "" when none came in time.
  std::string Next() {
    const auto frames = stream_.WaitFrames(taken_ + 1);
    return frames.size() > taken_ ? frames[taken_++] : std::string();
  }
  // The id of the next frame.
  std::string NextId() { return FrameField(Next(), "id"); }
  // How many frames beyond those taken arrive within `window`: shows that nothing more came
  // (use after a fence on another stream has shown the hub is past what could have come).
  std::size_t ArrivingWithin(std::chrono::milliseconds window) {
    return stream_.WaitFrames(taken_ + 1, window).size() - taken_;
  }

 private:
  SseStream stream_;
  std::size_t taken_ = 0;
};

// The event of a contexts-stream frame, checked to be wrapped with `protocol`.
json::object EventOf(const std::string& frame, const std::string& protocol) {
  boost::system::error_code ec;
  const json::value data = json::parse(FrameField(frame, "data"), ec);
  if (ec || !data.is_object() ||
      KeysOf(data.get_object()) != std::set<std::string>{"protocol", "event"} ||
      Str(data.at("protocol")) != protocol || !data.at("event").is_object()) {
    ADD_FAILURE() << "not a " << protocol << " event on the contexts stream: " << frame;
    return {};
  }
  return data.at("event").get_object();
}

// Opens a contexts stream and takes its preamble; returns the snapshot's contexts.
json::array OpenContexts(Frames& frames) {
  EXPECT_EQ(frames.status(), 200);
  EXPECT_EQ(frames.Next(), kPreamble);
  const json::object snapshot = EventOf(frames.Next(), "system");
  if (!snapshot.contains("contexts") || Str(snapshot.at("type")) != "CONTEXTS_SNAPSHOT") {
    ADD_FAILURE() << "no CONTEXTS_SNAPSHOT: " << json::serialize(snapshot);
    return {};
  }
  return snapshot.at("contexts").as_array();
}

void OpenBare(Frames& frames) {
  EXPECT_EQ(frames.status(), 200);
  const std::string opening = frames.Next();
  EXPECT_FALSE(OpeningCursor(opening).empty()) << opening;
}

// For ExpectContextEvent: any "Conversation <unix-ms>" name.
constexpr char kDefaultName[] = "<Conversation <unix-ms>>";

// Checks the next frame of `contexts` is the System event `type` about context `id` (with `name`,
// or without one when nullopt) and returns its SSE id.
std::string ExpectContextEvent(Frames& contexts, const std::string& type, const std::string& id,
                               const std::optional<std::string>& name) {
  const std::string frame = contexts.Next();
  const std::string event_id = FrameField(frame, "id");
  EXPECT_FALSE(event_id.empty()) << frame;
  EXPECT_EQ(frame, "id: " + event_id + "\ndata: " + FrameField(frame, "data") + "\n\n");
  const json::object event = EventOf(frame, "system");
  std::set<std::string> keys{"type", "contextId", "timestamp"};
  if (name) keys.insert("name");
  EXPECT_EQ(KeysOf(event), keys) << frame;
  if (event.empty()) return event_id;
  EXPECT_EQ(Str(event.at("type")), type) << frame;
  EXPECT_EQ(Str(event.at("contextId")), id) << frame;
  EXPECT_TRUE(IsRfc3339(event.at("timestamp"))) << frame;
  if (name && *name == kDefaultName && event.contains("name")) {
    EXPECT_GT(DefaultNameMillis(event.at("name")), 0) << frame;
  } else if (name && event.contains("name")) {
    EXPECT_EQ(Str(event.at("name")), *name) << frame;
  }
  return event_id;
}

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

Headers WithContentType(const std::string& user, const std::optional<std::string>& type) {
  Headers headers = AuthAs(user);
  if (type) headers.emplace_back("Content-Type", *type);
  return headers;
}

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

TEST(ContextsLoopbackTest, EveryContextsRouteAnswers401WithoutAValidToken) {
  TestHub hub;
  const std::string id = Create(hub.port(), "alice", "kept");
  ASSERT_FALSE(id.empty());
  const std::string event = R"({"protocol":"agui","event":)" + AguiTextJson("m", "x", "1") + "}";
  struct Route {
    std::string method, target, body;
  };
  const std::vector<Route> routes = {
      {"GET", kContexts, ""},
      {"POST", kContexts, NameBody("x")},
      {"GET", ContextPath(id), ""},
      {"PUT", ContextPath(id), NameBody("stolen")},
      {"DELETE", ContextPath(id), ""},
      {"POST", EventsPath(id), event},
      {"GET", ContextPath("undefined"), ""},
  };
  const std::vector<std::pair<std::string, Headers>> callers = {
      {"no token", {{"Content-Type", "application/json"}}},
      {"garbage token",
       {{"Authorization", "Bearer not-a-jwt"}, {"Content-Type", "application/json"}}},
      {"empty bearer", {{"Authorization", "Bearer "}, {"Content-Type", "application/json"}}},
  };
  for (const Route& r : routes) {
    for (const auto& [caller, headers] : callers) {
      const HttpReply reply = Request(hub.port(), r.method, r.target, headers, r.body);
      EXPECT_TRUE(IsError(reply, 401, "unauthorized"))
          << r.method << " " << r.target << ", " << caller;
    }
  }
  const json::value list = ListContexts(hub.port(), "alice");
  ASSERT_EQ(list.as_array().size(), 1u) << json::serialize(list);
  EXPECT_EQ(Str(list.at(0).at("name")), "kept");
  EXPECT_EQ(Count(list.at(0), "message_count"), 0);
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
  EXPECT_TRUE(IsError(Request(hub.port(), "POST", EventsPath(id), JsonAuthAs("alice"), event), 403,
                      "forbidden"));
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

TEST(ContextsLoopbackTest, UnknownWellFormedIdsAreNotFoundAndForbiddenForEvents) {
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
                        403, "forbidden"));
  }
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array()) << "nothing was created";
}

// ---- Hostile ids --------------------------------------------------------------------------------

struct HostileId {
  std::string name;
  std::string path;  // as written in the request target
};

std::vector<HostileId> HostileIds() {
  return {
      {"undefined", "undefined"},
      {"null", "null"},
      {"__CONTEXT_LOADING__", "__CONTEXT_LOADING__"},
      {"encoded undefined", "%75ndefined"},
      {"dot", "."},
      {"dot dot", ".."},
      {"encoded dot", "%2E"},
      {"encoded dot dot", "%2E%2E"},
      {"lower-case encoded dot dot", "%2e%2e"},
      {"half-encoded dot dot", ".%2E"},
      {"encoded slash", "a%2Fb"},
      {"only an encoded slash", "%2F"},
      {"encoded traversal", "..%2F..%2Fetc%2Fpasswd"},
      {"encoded backslash", "a%5Cb"},
      {"encoded backslash traversal", "..%5C..%5Cwindows"},
      {"NUL", "a%00b"},
      {"LF", "a%0Ab"},
      {"CR LF header injection", "a%0D%0AX-Evil:%201"},
      {"unit separator", "%1F"},
      {"DEL", "a%7Fb"},
      {"C1 NEXT LINE", "a%C2%85b"},
      {"lone 0xFF", "a%FFb"},
      {"overlong slash", "%C0%AF"},
      {"surrogate half", "%ED%A0%80"},
      {"truncated sequence", "a%E2%82"},
      {"above U+10FFFF", "%F4%90%80%80"},
      {"257 bytes", std::string(257, 'a')},
      {"257 bytes of encoded UTF-8", "a" +
                                         [] {
                                           std::string s;
                                           for (int i = 0; i < 128; ++i) s += "%C3%A9";
                                           return s;
                                         }()},
  };
}

TEST(ContextsLoopbackTest, MalformedPathIdsAnswer400OnEveryContextRouteAndTheHubKeepsServing) {
  TestHub hub;
  Frames contexts(hub.port(), kContextsStream, "alice");
  OpenContexts(contexts);
  const std::string event = R"({"protocol":"agui","event":)" + AguiTextJson("m", "x", "1") + "}";
  for (const HostileId& c : HostileIds()) {
    const std::vector<std::pair<std::string, HttpReply>> replies = {
        {"GET", Request(hub.port(), "GET", ContextPath(c.path), AuthAs("alice"))},
        {"PUT",
         Request(hub.port(), "PUT", ContextPath(c.path), JsonAuthAs("alice"), NameBody("n"))},
        {"DELETE", Request(hub.port(), "DELETE", ContextPath(c.path), AuthAs("alice"))},
        {"POST events",
         Request(hub.port(), "POST", EventsPath(c.path), JsonAuthAs("alice"), event)},
    };
    for (const auto& [method, reply] : replies) {
      EXPECT_TRUE(IsError(reply, 400, "bad_request"))
          << c.name << " (" << c.path << "), " << method;
    }
  }
  EXPECT_TRUE(IsError(
      Request(hub.port(), "POST", std::string(kContexts) + "//events", JsonAuthAs("alice"), event),
      400, "bad_request"))
      << "an empty id";

  // The hub still serves, and none of it created, emitted or stored anything.
  EXPECT_EQ(Request(hub.port(), "GET", "/health").status, 200);
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array());
  const std::string fence = AguiFence(hub.port(), "alice");
  EXPECT_EQ(SequenceOf(fence), 1u) << "no event was stored before the fence";
  EXPECT_EQ(contexts.NextId(), fence);
  EXPECT_FALSE(Create(hub.port(), "alice", "after").empty());
}

TEST(ContextsLoopbackTest, MalformedContextIdQueryOnAStreamAnswers400) {
  TestHub hub;
  const std::vector<std::pair<std::string, std::string>> values = {
      {"undefined", "undefined"},
      {"null", "null"},
      {"__CONTEXT_LOADING__", "__CONTEXT_LOADING__"},
      {"empty", ""},
      {"dot dot", ".."},
      {"encoded dot dot", "%2E%2E"},
      {"encoded slash", "a%2Fb"},
      {"encoded backslash", "a%5Cb"},
      {"NUL", "a%00b"},
      {"LF", "a%0Ab"},
      {"lone 0xFF", "a%FFb"},
      {"surrogate half", "%ED%A0%80"},
      {"257 bytes", std::string(257, 'a')},
  };
  for (const char* stream : {kAguiStream, kA2aStream, kContextsStream}) {
    for (const auto& [name, value] : values) {
      // A stream that opened by mistake never ends: a short bound keeps the failure quick.
      const HttpReply reply = Request(
          hub.port(), "GET", std::string(stream) + "?context_id=" + value, AuthAs("alice"), "", 3s);
      EXPECT_TRUE(IsError(reply, 400, "bad_request")) << stream << " " << name;
    }
  }
  // A well-formed one opens the stream.
  SseStream ok(hub.port(), std::string(kAguiStream) + "?context_id=ok", AuthAs("alice"));
  EXPECT_EQ(ok.status(), 200);
}

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

TEST(ContextsLoopbackTest, EventsOnAnotherUsersOrAnUnknownContextAreForbiddenAlike) {
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
    EXPECT_TRUE(IsError(*reply, 403, "forbidden"));
    EXPECT_EQ(reply->body.find("alice"), std::string::npos) << reply->body;
  }
  EXPECT_EQ(json::parse(others.body).at("message"), json::parse(unknown.body).at("message"))
      << "an owned context and a missing one are indistinguishable";

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

TEST(ContextsLoopbackTest, WebhookNamingAnotherUsersContextIsForbiddenAndStoresNothing) {
  TestHub hub;
  Frames alice_agui(hub.port(), kAguiStream, "alice");
  Frames alice_a2a(hub.port(), kA2aStream, "alice");
  Frames alice_contexts(hub.port(), kContextsStream, "alice");
  Frames bob_a2a(hub.port(), kA2aStream, "bob");
  Frames bob_contexts(hub.port(), kContextsStream, "bob");
  OpenBare(alice_agui);
  OpenBare(alice_a2a);
  OpenContexts(alice_contexts);
  OpenBare(bob_a2a);
  OpenContexts(bob_contexts);
  const json::value created = CreateContext(hub.port(), "bob", "bobs");
  ASSERT_TRUE(created.is_object());
  const std::string bobs = Str(created.at("context_id"));
  const std::string bob_created = ExpectContextEvent(bob_contexts, "CONTEXT_CREATED", bobs, "bobs");
  const std::string alice_before = AguiFence(hub.port(), "alice");
  ASSERT_EQ(alice_agui.NextId(), alice_before);
  ASSERT_EQ(alice_contexts.NextId(), alice_before);

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
  for (const Case& c : cases) {
    const HttpReply reply =
        Request(hub.port(), "POST", c.webhook, JsonAuthAs(c.caller, c.scope), c.body);
    EXPECT_TRUE(IsError(reply, 403, "forbidden")) << c.name;
    EXPECT_EQ(reply.body.find("bob"), std::string::npos) << c.name << ": " << reply.body;
  }

  // Nothing reached either user, and the refused events took no id.
  const std::string alice_after = AguiFence(hub.port(), "alice");
  EXPECT_EQ(SequenceOf(alice_after), SequenceOf(alice_before) + 1);
  EXPECT_EQ(alice_agui.NextId(), alice_after);
  EXPECT_EQ(alice_contexts.NextId(), alice_after);
  const std::string alice_a2a_fence = A2aFence(hub.port(), "alice");
  EXPECT_EQ(alice_a2a.NextId(), alice_a2a_fence);
  const std::string bob_fence = A2aFence(hub.port(), "bob");
  EXPECT_EQ(SequenceOf(bob_fence), SequenceOf(bob_created) + 1);
  EXPECT_EQ(bob_a2a.NextId(), bob_fence);
  EXPECT_EQ(bob_contexts.NextId(), bob_fence);

  const json::value stored = GetContext(hub.port(), "bob", bobs);
  ASSERT_TRUE(IsContext(stored, "bob", true));
  EXPECT_EQ(Count(stored, "task_count"), 0);
  EXPECT_EQ(Count(stored, "message_count"), 0);
  EXPECT_EQ(stored.at("updated_at"), created.at("updated_at"));
  EXPECT_EQ(ListContexts(hub.port(), "alice"), json::array());
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

TEST(ContextsLoopbackTest, BatchItemOnAnotherUsersContextGetsItsOwn403AndTheOthersAreStored) {
  TestHub hub;
  Frames alice_contexts(hub.port(), kContextsStream, "alice");
  Frames alice_a2a(hub.port(), kA2aStream, "alice");
  Frames bob_contexts(hub.port(), kContextsStream, "bob");
  OpenContexts(alice_contexts);
  OpenBare(alice_a2a);
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
      // 0: alice, no context: stored.
      R"({"user_id":"alice","protocol":"agui",)" + text("zero") + "}," +
      // 1: alice into bob's context by context_id: refused.
      R"({"user_id":"alice","protocol":"agui","context_id":")" + bobs + "\"," + text("one") + "}," +
      // 2: alice into bob's context by the A2A contextId: refused.
      R"({"user_id":"alice","protocol":"a2a","event":)" + AgentMessage("t", bobs) + "}," +
      // 3: bob into his own context: stored.
      R"({"user_id":"bob","protocol":"agui","context_id":")" + bobs + "\"," + text("three") + "}," +
      // 4: alice into a new context: created for her, stored.
      R"({"user_id":"alice","protocol":"agui","context_id":"fresh",)" + text("four") + "}]";
  const HttpReply reply =
      Request(hub.port(), "POST", kBatch, JsonAuthAs("svc", kPublishScope), batch);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json::value body = json::parse(reply.body);
  EXPECT_EQ(body.at("accepted"), json::value(3)) << reply.body;
  EXPECT_EQ(body.at("rejected"), json::value(2)) << reply.body;
  const json::array& results = body.at("results").as_array();
  ASSERT_EQ(results.size(), 5u) << reply.body;
  for (std::size_t i : {1u, 2u}) {
    SCOPED_TRACE(i);
    const json::object& result = results[i].as_object();
    EXPECT_EQ(KeysOf(result), (std::set<std::string>{"status", "code", "message"})) << reply.body;
    EXPECT_EQ(result.at("status"), json::value(403));
    EXPECT_EQ(Str(result.at("code")), "forbidden");
    EXPECT_EQ(Str(result.at("message")).find("bob"), std::string::npos);
  }
  for (std::size_t i : {0u, 3u, 4u}) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[i].at("status"), json::value(200)) << reply.body;
  }
  const std::string zero = Str(results[0].at("event_id"));
  const std::string three = Str(results[3].at("event_id"));
  const std::string four = Str(results[4].at("event_id"));

  // Alice: item 0, then the new context's CONTEXT_CREATED, then item 4; nothing else.
  EXPECT_EQ(alice_contexts.NextId(), zero);
  const std::string fresh =
      ExpectContextEvent(alice_contexts, "CONTEXT_CREATED", "fresh", kDefaultName);
  EXPECT_EQ(SequenceOf(fresh), SequenceOf(zero) + 1);
  EXPECT_EQ(alice_contexts.NextId(), four);
  EXPECT_EQ(SequenceOf(four), SequenceOf(fresh) + 1);
  const std::string a2a_fence = A2aFence(hub.port(), "alice");
  EXPECT_EQ(alice_a2a.NextId(), a2a_fence) << "the refused A2A item was not delivered";
  EXPECT_EQ(alice_contexts.NextId(), a2a_fence);
  // Bob: item 3 only.
  EXPECT_EQ(bob_contexts.NextId(), three);
  const std::string bob_fence = AguiFence(hub.port(), "bob");
  EXPECT_EQ(bob_contexts.NextId(), bob_fence);

  const json::value stored = GetContext(hub.port(), "bob", bobs);
  ASSERT_TRUE(IsContext(stored, "bob", true));
  EXPECT_EQ(Count(stored, "task_count"), 0) << "the refused item's task was not counted";
  EXPECT_EQ(Count(stored, "message_count"), 0);
  const json::value alices = ListContexts(hub.port(), "alice");
  ASSERT_EQ(alices.as_array().size(), 1u) << json::serialize(alices);
  EXPECT_EQ(Str(alices.at(0).at("context_id")), "fresh");
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

TEST(ContextsLoopbackTest, OtherMethodsOnContextsRoutesAnswer405WithTheirAllow) {
  TestHub hub;
  const std::string id = Create(hub.port(), "alice", "c");
  ASSERT_FALSE(id.empty());
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"PUT", kContexts, "GET, POST"},
      {"DELETE", kContexts, "GET, POST"},
      {"PATCH", ContextPath(id), "GET, PUT, DELETE"},
      {"POST", ContextPath(id), "GET, PUT, DELETE"},
      {"GET", EventsPath(id), "POST"},
      {"PUT", EventsPath(id), "POST"},
  };
  for (const auto& [method, target, allow] : cases) {
    const HttpReply reply = Request(hub.port(), method, target, JsonAuthAs("alice"), "{}");
    EXPECT_EQ(reply.status, 405) << method << " " << target << ": " << reply.body;
    EXPECT_EQ(reply.Header("allow"), allow) << method << " " << target;
  }
  const json::value stored = GetContext(hub.port(), "alice", id);
  ASSERT_TRUE(stored.is_object()) << "DELETE on the list deleted nothing";
  EXPECT_EQ(Str(stored.at("name")), "c");
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
  EXPECT_TRUE(IsEnvelope(replies[0].second, 200, list));
  EXPECT_EQ(list, json::array());
  EXPECT_TRUE(IsError(replies[1].second, 404, "not_found"));
  EXPECT_TRUE(IsError(replies[2].second, 404, "not_found"));
  EXPECT_TRUE(IsError(replies[3].second, 404, "not_found"));
  EXPECT_TRUE(IsError(replies[4].second, 403, "forbidden"));
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
