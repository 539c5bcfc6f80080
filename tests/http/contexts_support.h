// Shared helpers of the contexts loopback tests: the routes, JSON checks, requests and a reader
// of one stream's frames in order.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "core/time_format.h"
#include "http/loopback_support.h"

namespace herald::testing {

namespace json = boost::json;

inline constexpr char kContexts[] = "/api/v1/core/contexts";
inline constexpr char kBatch[] = "/api/v1/events";
inline constexpr char kPublishScope[] = "events:publish";

inline std::string ContextPath(const std::string& id) { return std::string(kContexts) + "/" + id; }
inline std::string EventsPath(const std::string& id) { return ContextPath(id) + "/events"; }

// ---- JSON checks --------------------------------------------------------------------------------

inline std::string Str(const json::value& value) {
  return value.is_string() ? std::string(value.get_string())
                           : "<not a string: " + json::serialize(value) + ">";
}

inline std::set<std::string> KeysOf(const json::object& object) {
  std::set<std::string> keys;
  for (const auto& member : object) keys.emplace(member.key());
  return keys;
}

// Whether `value` is an RFC 3339 timestamp string; whether `text` is a version-4 UUID.
bool IsRfc3339(const json::value& value);
bool IsUuidV4(const std::string& text);

inline std::int64_t NowMillis() { return ToUnixMillis(std::chrono::system_clock::now()); }

// The Unix milliseconds of an RFC 3339 string (-1 when it is not one).
inline std::int64_t MillisOf(const json::value& value) {
  if (!value.is_string()) return -1;
  const auto time = ParseRfc3339(Str(value));
  return time ? ToUnixMillis(*time) : -1;
}

// Waits (bounded) until the wall clock is past `ms`, so that the next write gets a later time.
inline bool ClockPast(std::int64_t ms) {
  return WaitUntil([ms] { return NowMillis() > ms; });
}

// The millisecond count of a default name "Conversation <unix-ms>" (-1 when it is not one).
std::int64_t DefaultNameMillis(const json::value& name);

// The per-user sequence of an event id "<history>-<sequence>" (0 when malformed).
inline std::uint64_t SequenceOf(const std::string& event_id) {
  const auto dash = event_id.find('-');
  return dash == std::string::npos ? 0 : std::stoull(event_id.substr(dash + 1));
}

// A failed check of `reply`, prefixed with its status and body.
inline ::testing::AssertionResult ReplyFailure(const HttpReply& reply) {
  return ::testing::AssertionFailure() << reply.status << " " << reply.body << ": ";
}

// The JSON object body of a reply with `status` and a JSON content type, or why not.
inline std::variant<json::object, ::testing::AssertionResult> JsonObjectReply(
    const HttpReply& reply, int status) {
  if (reply.status != status) return ReplyFailure(reply) << "expected status " << status;
  if (reply.Header("content-type") != "application/json") {
    return ReplyFailure(reply) << "content type";
  }
  boost::system::error_code ec;
  json::value body = json::parse(reply.body, ec);
  if (ec || !body.is_object()) return ReplyFailure(reply) << "not a JSON object";
  return std::move(body.get_object());
}

// An error of spec §1.5: exactly {"code","message","timestamp"} (+ "field" for a 422).
inline ::testing::AssertionResult IsError(const HttpReply& reply, int status,
                                          const std::string& code, const std::string& field = "") {
  auto parsed = JsonObjectReply(reply, status);
  if (auto* why = std::get_if<::testing::AssertionResult>(&parsed)) return *why;
  const json::object& error = std::get<json::object>(parsed);
  std::set<std::string> keys{"code", "message", "timestamp"};
  if (!field.empty()) keys.insert("field");
  if (KeysOf(error) != keys) return ReplyFailure(reply) << "unexpected keys";
  if (Str(error.at("code")) != code) return ReplyFailure(reply) << "expected code " << code;
  if (!error.at("message").is_string() || error.at("message").get_string().empty()) {
    return ReplyFailure(reply) << "no message";
  }
  if (!IsRfc3339(error.at("timestamp"))) return ReplyFailure(reply) << "timestamp";
  if (!field.empty() && Str(error.at("field")) != field)
    return ReplyFailure(reply) << "expected " << field;
  if (status == 401 && reply.Header("www-authenticate") != "Bearer") {
    return ReplyFailure(reply) << "no WWW-Authenticate: Bearer";
  }
  return ::testing::AssertionSuccess();
}

// The success envelope of spec §1.3; its "data" is stored in `data`.
// With `list_meta`, the list's envelope: its meta also has `total` and `next_cursor`, copied out.
inline ::testing::AssertionResult IsEnvelope(const HttpReply& reply, int status, json::value& data,
                                             json::object* list_meta = nullptr) {
  auto parsed = JsonObjectReply(reply, status);
  if (auto* why = std::get_if<::testing::AssertionResult>(&parsed)) return *why;
  const json::object& body = std::get<json::object>(parsed);
  if (KeysOf(body) != std::set<std::string>{"data", "meta"}) {
    return ReplyFailure(reply) << "envelope keys";
  }
  const json::value& meta = body.at("meta");
  const std::set<std::string> keys =
      list_meta == nullptr ? std::set<std::string>{"timestamp", "version"}
                           : std::set<std::string>{"timestamp", "version", "total", "next_cursor"};
  if (!meta.is_object() || KeysOf(meta.get_object()) != keys || !IsRfc3339(meta.at("timestamp")) ||
      Str(meta.at("version")) != "1.0.0") {
    return ReplyFailure(reply) << "meta";
  }
  data = body.at("data");
  if (list_meta != nullptr) *list_meta = meta.get_object();
  return ::testing::AssertionSuccess();
}

// A context of spec §1.3 owned by `user`: the six fields, plus the statistics when `stats`.
inline ::testing::AssertionResult IsContext(const json::value& value, const std::string& user,
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

inline std::int64_t Count(const json::value& context, const char* key) {
  return context.at(key).to_number<std::int64_t>();
}

// ---- Requests -----------------------------------------------------------------------------------

// `user`'s token and, when given, a Content-Type.
inline Headers WithContentType(const std::string& user, const std::optional<std::string>& type) {
  Headers headers = AuthAs(user);
  if (type) headers.emplace_back("Content-Type", *type);
  return headers;
}

inline std::string NameBody(const std::string& name) { return R"({"name":")" + name + "\"}"; }

// Creates a context for `user` through the API; its data ("null" after a recorded failure).
inline json::value CreateContext(unsigned short port, const std::string& user,
                                 const std::string& name) {
  const HttpReply reply = Request(port, "POST", kContexts, JsonAuthAs(user), NameBody(name));
  json::value data;
  EXPECT_TRUE(IsEnvelope(reply, 201, data));
  return data;
}

inline std::string Create(unsigned short port, const std::string& user, const std::string& name) {
  const json::value data = CreateContext(port, user, name);
  return data.is_object() ? Str(data.at("context_id")) : std::string();
}

// GET /contexts/{id} as `user`: the context with statistics ("null" when not 200).
inline json::value GetContext(unsigned short port, const std::string& user, const std::string& id) {
  json::value data;
  const HttpReply reply = Request(port, "GET", ContextPath(id), AuthAs(user));
  if (reply.status != 200) return nullptr;
  EXPECT_TRUE(IsEnvelope(reply, 200, data));
  return data;
}

// GET /contexts as `user`: the list ("null" after a recorded failure), in one page.
inline json::value ListContexts(unsigned short port, const std::string& user) {
  json::value data;
  json::object meta;
  EXPECT_TRUE(IsEnvelope(Request(port, "GET", kContexts, AuthAs(user)), 200, data, &meta));
  EXPECT_TRUE(data.is_array()) << json::serialize(data);
  if (data.is_array()) {
    EXPECT_EQ(meta.at("total"), json::value(data.as_array().size())) << json::serialize(meta);
    EXPECT_TRUE(meta.at("next_cursor").is_null()) << json::serialize(meta);
  }
  return data;
}

// POST /contexts/{id}/events as `user`, expected to succeed; the event id.
inline std::string PostEvent(unsigned short port, const std::string& user, const std::string& id,
                             const std::string& envelope) {
  const HttpReply reply = Request(port, "POST", EventsPath(id), JsonAuthAs(user), envelope);
  EXPECT_EQ(reply.status, 200) << envelope << " -> " << reply.body;
  return EventIdOf(reply);
}

// An A2A AGENT_MESSAGE: a message of task `task` on context `context` (no timestamp).
inline std::string AgentMessage(const std::string& task, const std::string& context) {
  return R"({"type":"AGENT_MESSAGE","taskId":")" + task + R"(","contextId":")" + context +
         R"(","messageId":"m","content":"hi"})";
}

inline HttpReply PublishA2a(unsigned short port, const std::string& body) {
  return Request(port, "POST", kA2aWebhook, JsonAuthAs("alice"), body);
}

// An unattributed AG-UI event for `user`: a stream whose next frame is this one received nothing
// else before it.
inline std::string AguiFence(unsigned short port, const std::string& user) {
  const HttpReply reply = PublishAgui(port, user, AguiText(user, "fence", "fence"));
  EXPECT_EQ(reply.status, 200) << reply.body;
  return EventIdOf(reply);
}

// The same on the A2A stream (JSON_RPC_RESPONSE names no context).
inline std::string A2aFence(unsigned short port, const std::string& user) {
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
inline json::object EventOf(const std::string& frame, const std::string& protocol) {
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
inline json::array OpenContexts(Frames& frames) {
  EXPECT_EQ(frames.status(), 200);
  EXPECT_EQ(frames.Next(), kPreamble);
  const json::object snapshot = EventOf(frames.Next(), "system");
  if (!snapshot.contains("contexts") || Str(snapshot.at("type")) != "CONTEXTS_SNAPSHOT") {
    ADD_FAILURE() << "no CONTEXTS_SNAPSHOT: " << json::serialize(snapshot);
    return {};
  }
  // Under the snapshot's bound: whole, and saying so.
  EXPECT_EQ(snapshot.at("total"), json::value(snapshot.at("contexts").as_array().size()))
      << json::serialize(snapshot);
  EXPECT_EQ(snapshot.at("truncated"), json::value(false)) << json::serialize(snapshot);
  return snapshot.at("contexts").as_array();
}

inline void OpenBare(Frames& frames) {
  EXPECT_EQ(frames.status(), 200);
  const std::string opening = frames.Next();
  EXPECT_FALSE(OpeningCursor(opening).empty()) << opening;
}

// For ExpectContextEvent: any "Conversation <unix-ms>" name.
inline constexpr char kDefaultName[] = "<Conversation <unix-ms>>";

// Checks the next frame of `contexts` is the System event `type` about context `id` (with `name`,
// or without one when nullopt) and returns its SSE id.
inline std::string ExpectContextEvent(Frames& contexts, const std::string& type,
                                      const std::string& id,
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

}  // namespace herald::testing
