// Bad input on the wire (spec §1.5, §3.2): every bad publish gets its exact error, delivers
// nothing, and leaves the hub serving; nothing a client sends can inject SSE fields.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "http/loopback_support.h"

namespace herald::testing {
namespace {

constexpr std::size_t kBodyLimit = 2048;

std::string Nested(int depth) {
  // An event object (level 1) whose "value" holds `depth - 1` nested arrays.
  return R"({"user_id":"alice","type":"CUSTOM","name":"deep","value":)" +
         std::string(static_cast<std::size_t>(depth - 1), '[') +
         std::string(static_cast<std::size_t>(depth - 1), ']') + "}";
}

struct BadCase {
  std::string name;
  std::optional<std::string> content_type;  // nullopt: no Content-Type header
  std::string body;
  int status;
  std::string code;
  std::string field;  // "" when the error names no field
};

std::vector<BadCase> BadCases() {
  const std::string json = "application/json";
  return {
      {"invalid json", json, R"({"user_id":"alice","type":)", 400, "bad_request", ""},
      {"trailing garbage", json, AguiText("alice", "m1", "x") + "x", 400, "bad_request", ""},
      {"empty body", json, "", 400, "bad_request", ""},
      {"text/plain", "text/plain", AguiText("alice", "m1", "x"), 415, "unsupported_media_type", ""},
      {"missing content type", std::nullopt, AguiText("alice", "m1", "x"), 415,
       "unsupported_media_type", ""},
      {"json lookalike type", "application/jsonx", AguiText("alice", "m1", "x"), 415,
       "unsupported_media_type", ""},
      {"over the body limit", json, AguiText("alice", "m1", std::string(kBodyLimit, 'x')), 413,
       "payload_too_large", ""},
      {"65 levels deep", json, Nested(65), 422, "validation_error", "body"},
      {"unknown type", json, R"({"user_id":"alice","type":"NOT_A_TYPE","messageId":"m1"})", 422,
       "validation_error", "type"},
      {"a2a type on agui", json,
       R"({"user_id":"alice","type":"TASK_SUBMITTED","taskId":"t","contextId":"c",)"
       R"("agentName":"a"})",
       422, "validation_error", "type"},
      {"missing type", json, R"({"user_id":"alice","messageId":"m1","delta":"x"})", 422,
       "validation_error", "type"},
      {"missing required field", json,
       R"({"user_id":"alice","type":"TEXT_MESSAGE_CONTENT","delta":"x"})", 422, "validation_error",
       "messageId"},
      {"wrong json type", json,
       R"({"user_id":"alice","type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":5})", 422,
       "validation_error", "delta"},
      {"missing user_id", json, R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"x"})",
       422, "validation_error", "user_id"},
      {"array body", json, "[" + AguiText("alice", "m1", "x") + "]", 422, "validation_error",
       "body"},
      {"string body", json, R"("TEXT_MESSAGE_CONTENT")", 422, "validation_error", "body"},
      {"id of 257 bytes", json, AguiText("alice", std::string(257, 'i'), "x"), 422,
       "validation_error", "messageId"},
      {"empty id", json, AguiText("alice", "", "x"), 422, "validation_error", "messageId"},
      {"id with a control character", json, AguiText("alice", "m\\u0001", "x"), 422,
       "validation_error", "messageId"},
      {"id with a newline", json, AguiText("alice", "m\\nid: 9", "x"), 422, "validation_error",
       "messageId"},
      {"infinite number", json,
       R"({"user_id":"alice","type":"CUSTOM","name":"n","value":{"x":1e400}})", 422,
       "validation_error", "value.x"},
      {"minus infinite number", json,
       R"({"user_id":"alice","type":"CUSTOM","name":"n","value":[0,-1e999999]})", 422,
       "validation_error", "value[1]"},
  };
}

TEST(ValidationLoopbackTest, BadPublishesGetTheirErrorDeliverNothingAndTheHubKeepsServing) {
  TestHubOptions options;
  options.http.max_body_bytes = kBodyLimit;
  TestHub hub(options);
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(contexts.WaitFrames(2).size(), 2u);  // preamble, snapshot
  ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
  std::size_t agui_seen = 1;
  std::size_t contexts_seen = 2;

  int good = 0;
  for (const BadCase& c : BadCases()) {
    SCOPED_TRACE(c.name);
    Headers headers = AuthAs("alice");
    if (c.content_type) headers.emplace_back("Content-Type", *c.content_type);
    const HttpReply reply = Request(hub.port(), "POST", kAguiWebhook, headers, c.body);
    EXPECT_EQ(reply.status, c.status) << reply.body;
    EXPECT_EQ(reply.Header("content-type"), "application/json");
    EXPECT_EQ(reply.body.rfind(R"({"code":")" + c.code + R"(","message":")", 0), 0u) << reply.body;
    if (c.field.empty()) {
      EXPECT_EQ(reply.body.find(R"("field":)"), std::string::npos) << reply.body;
    } else {
      EXPECT_NE(reply.body.find(R"(,"field":")" + c.field + "\""), std::string::npos) << reply.body;
    }

    // The hub still serves, and the next frame each subscriber gets is the good event.
    const std::string delta = "good-" + std::to_string(++good);
    const HttpReply ok = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", delta, "1"));
    ASSERT_EQ(ok.status, 200) << ok.body;
    const std::string expected =
        "id: " + EventIdOf(ok) + "\ndata: " + AguiTextJson("m1", delta, "1") + "\n\n";
    auto frames = agui.WaitFrames(agui_seen + 1);
    ASSERT_EQ(frames.size(), agui_seen + 1);
    EXPECT_EQ(frames[agui_seen], expected);
    agui_seen = frames.size();
    frames = contexts.WaitFrames(contexts_seen + 1);
    ASSERT_EQ(frames.size(), contexts_seen + 1);
    EXPECT_EQ(FrameField(frames[contexts_seen], "id"), EventIdOf(ok));
    EXPECT_NE(frames[contexts_seen].find("\"delta\":\"" + delta + "\""), std::string::npos);
    contexts_seen = frames.size();
  }
}

TEST(ValidationLoopbackTest, LimitsAreInclusiveAtTheirBoundary) {
  TestHubOptions options;
  options.http.max_body_bytes = kBodyLimit;
  TestHub hub(options);
  // 64 levels, an id of exactly 256 bytes and a body of exactly the limit are accepted.
  HttpReply reply = PublishAgui(hub.port(), "alice", Nested(64));
  EXPECT_EQ(reply.status, 200) << reply.body;
  reply = PublishAgui(hub.port(), "alice", AguiText("alice", std::string(256, 'i'), "x"));
  EXPECT_EQ(reply.status, 200) << reply.body;
  const std::string shell = AguiText("alice", "m1", "");
  reply = PublishAgui(hub.port(), "alice",
                      AguiText("alice", "m1", std::string(kBodyLimit - shell.size(), 'x')));
  EXPECT_EQ(reply.status, 200) << reply.body;
}

TEST(ValidationLoopbackTest, SseFieldsInPayloadsArriveEscapedOnOneDataLine) {
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(contexts.WaitFrames(2).size(), 2u);

  const std::string delta = R"(\n\ndata: evil\n\nid: 1\n\r\nevent: x\r)";
  const HttpReply reply = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", delta, "1"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const HttpReply fence = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "fence", "2"));
  ASSERT_EQ(fence.status, 200) << fence.body;

  const auto frames = agui.WaitFrames(3);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1],
            "id: " + EventIdOf(reply) + "\ndata: " + AguiTextJson("m1", delta, "1") + "\n\n");
  EXPECT_EQ(frames[2],
            "id: " + EventIdOf(fence) + "\ndata: " + AguiTextJson("m1", "fence", "2") + "\n\n");
  EXPECT_EQ(agui.body(), frames[0] + frames[1] + frames[2]) << "no stray bytes";

  const auto wrapped = contexts.WaitFrames(4);
  ASSERT_EQ(wrapped.size(), 4u);
  EXPECT_EQ(wrapped[2], "id: " + EventIdOf(reply) + "\ndata: {\"protocol\":\"agui\",\"event\":" +
                            AguiTextJson("m1", delta, "1") + "}\n\n");
  EXPECT_EQ(FrameField(wrapped[3], "id"), EventIdOf(fence));
}

TEST(ValidationLoopbackTest, ControlCharactersInStringsAreEscapedOnTheWire) {
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
  // CR, LF and NUL written as \u escapes come out re-escaped, never raw.
  const HttpReply reply =
      PublishAgui(hub.port(), "alice", AguiText("alice", "m1", R"(a\u000db\u000ac\u0000d)", "1"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto frames = agui.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], "id: " + EventIdOf(reply) +
                           "\ndata: " + AguiTextJson("m1", R"(a\rb\nc\u0000d)", "1") + "\n\n");
}

// Golden cases: the original system's back-end payloads
// (tests/golden/original_backend_events.json).
struct GoldenCase {
  std::string name;
  std::string route;  // "agui" or "a2a"
  std::optional<std::string> strict_field;
  boost::json::object body;
};

std::vector<GoldenCase> OriginalBackendCases() {
  std::ifstream file(std::string(HERALD_GOLDEN_DIR) + "/original_backend_events.json");
  std::stringstream text;
  text << file.rdbuf();
  const boost::json::value golden = boost::json::parse(text.str());
  std::vector<GoldenCase> cases;
  for (const auto& item : golden.at("cases").as_array()) {
    const auto& c = item.as_object();
    const auto& field = c.at("strict_field");
    cases.push_back(
        {std::string(c.at("name").as_string()), std::string(c.at("route").as_string()),
         field.is_null() ? std::nullopt : std::optional<std::string>(field.as_string().c_str()),
         c.at("body").as_object()});
  }
  return cases;
}

// The event a subscriber gets: the body without its routing field, in the order sent (every case
// carries a timestamp, as the original's events do, so the hub adds none).
std::string Delivered(const boost::json::object& body) {
  boost::json::object event;
  for (const auto& [key, value] : body) {
    if (key != "user_id") event.emplace(key, value);
  }
  return boost::json::serialize(event);
}

TEST(ValidationLoopbackTest, CompatibleModeDeliversEveryOriginalBackendPayloadUnchanged) {
  const auto cases = OriginalBackendCases();
  ASSERT_GE(cases.size(), 15u);
  TestHub hub;  // --validation compatible is the default
  ASSERT_EQ(hub.services().options.validation, ValidationMode::kCompatible);
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
  ASSERT_EQ(a2a.WaitFrames(1).size(), 1u);
  std::size_t agui_seen = 1, a2a_seen = 1;
  for (const GoldenCase& c : cases) {
    SCOPED_TRACE(c.name);
    const HttpReply reply =
        Request(hub.port(), "POST", c.route == "agui" ? kAguiWebhook : kA2aWebhook,
                JsonAuthAs("alice"), boost::json::serialize(c.body));
    ASSERT_EQ(reply.status, 200) << reply.body;
    SseStream& stream = c.route == "agui" ? agui : a2a;
    std::size_t& seen = c.route == "agui" ? agui_seen : a2a_seen;
    const auto frames = stream.WaitFrames(seen + 1);
    ASSERT_EQ(frames.size(), seen + 1);
    EXPECT_EQ(frames[seen], "id: " + EventIdOf(reply) + "\ndata: " + Delivered(c.body) + "\n\n");
    seen = frames.size();
  }
}

TEST(ValidationLoopbackTest, StrictModeRefusesTheOriginalsLooserShapesNamingTheField) {
  TestHubOptions options;
  options.http.validation = ValidationMode::kStrict;
  TestHub hub(options);
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
  ASSERT_EQ(a2a.WaitFrames(1).size(), 1u);
  std::size_t accepted_agui = 0, accepted_a2a = 0;
  for (const GoldenCase& c : OriginalBackendCases()) {
    SCOPED_TRACE(c.name);
    const HttpReply reply =
        Request(hub.port(), "POST", c.route == "agui" ? kAguiWebhook : kA2aWebhook,
                JsonAuthAs("alice"), boost::json::serialize(c.body));
    if (!c.strict_field) {
      EXPECT_EQ(reply.status, 200) << reply.body;
      ++(c.route == "agui" ? accepted_agui : accepted_a2a);
      continue;
    }
    EXPECT_EQ(reply.status, 422) << reply.body;
    const auto error = boost::json::parse(reply.body).as_object();
    EXPECT_EQ(error.at("code"), "validation_error");
    EXPECT_EQ(error.at("field").as_string(), *c.strict_field) << reply.body;
  }
  // Only the accepted ones were delivered (then a fence proves nothing else is on its way).
  for (const auto& [stream, webhook, accepted] : {std::tuple{&agui, kAguiWebhook, accepted_agui},
                                                  std::tuple{&a2a, kA2aWebhook, accepted_a2a}}) {
    const std::string fence =
        std::string(webhook) == kAguiWebhook
            ? AguiText("alice", "fence", "x")
            : R"({"user_id":"alice","type":"TASK_STATUS_UPDATE",)"
              R"("taskId":"fence","contextId":"c","state":"TASK_STATE_WORKING"})";
    const HttpReply ok = Request(hub.port(), "POST", webhook, JsonAuthAs("alice"), fence);
    ASSERT_EQ(ok.status, 200) << ok.body;
    ASSERT_TRUE(stream->WaitFrameContaining("fence"));
    const auto frames = SplitFrames(stream->body());
    EXPECT_EQ(frames.size(), 1 + accepted + 1) << stream->body();
  }
}

}  // namespace
}  // namespace herald::testing
