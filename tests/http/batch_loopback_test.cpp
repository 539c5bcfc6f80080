// Batch publish on the wire (spec §1.2): per-item results in order, NDJSON, the size limits,
// and delivery of exactly the valid items.
#include <gtest/gtest.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>

#include "http/batch_handler.h"
#include "http/store_loopback_support.h"

namespace herald::testing {
namespace {

constexpr char kBatch[] = "/api/v1/events";

Headers NdjsonAuthAs(const std::string& user) {
  return {{"Authorization", TestHub::Bearer(user)}, {"Content-Type", "application/x-ndjson"}};
}

std::string AguiItem(const std::string& user, const std::string& delta) {
  return R"({"user_id":")" + user +
         R"(","protocol":"agui","event":{"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":")" +
         delta + R"(","timestamp":1}})";
}

std::string A2aItem(const std::string& user, const std::string& task) {
  return R"({"user_id":")" + user +
         R"(","protocol":"a2a","event":{"type":"TASK_STATUS_UPDATE","taskId":")" + task +
         R"(","contextId":"c1","state":"TASK_STATE_WORKING","timestamp":"2026-01-02T03:04:05Z"}})";
}

// Status, code and field of every result, e.g. "200", "422 validation_error protocol".
std::vector<std::string> Summaries(const boost::json::value& body) {
  std::vector<std::string> out;
  for (const auto& r : body.at("results").as_array()) {
    const auto& o = r.as_object();
    std::string s = std::to_string(o.at("status").to_number<int>());
    if (o.contains("code")) {
      s += " " + std::string(o.at("code").as_string());
      EXPECT_FALSE(o.at("message").as_string().empty());
      if (o.contains("field")) s += " " + std::string(o.at("field").as_string());
    } else {
      EXPECT_EQ(o.size(), 3u) << boost::json::serialize(o);
      EXPECT_TRUE(ParseEventId(o.at("event_id").as_string()));
    }
    out.push_back(s);
  }
  return out;
}

std::string IdAt(const boost::json::value& body, std::size_t i) {
  return std::string(body.at("results").as_array().at(i).at("event_id").as_string());
}

// HandleBatch parses into memory its thread reuses for the next batch, which may run while this
// batch waits for the store: so a draft must own all of its text. Here the parse memory is
// scribbled over after drafting, as the next batch would, and the drafts must not change.
TEST(BatchLoopbackTest, DraftsOwnTheirTextWhenTheMemoryTheItemsWereParsedInIsReused) {
  std::vector<unsigned char> memory(64 * 1024);
  std::vector<EventDraft> drafts;
  {
    boost::json::monotonic_resource arena(memory.data(), memory.size());
    http::Request request{boost::beast::http::verb::post, kBatch, 11};
    request.set(boost::beast::http::field::content_type, "application/json");
    request.body() = "[" + AguiItem("alice", "kept") + "," + A2aItem("alice", "task-7") + "]";
    std::vector<NumberTexts> numbers;
    auto items = http::ParseItems(request, numbers, boost::json::storage_ptr(&arena));
    ASSERT_TRUE(items);
    ASSERT_EQ(items->size(), 2u);
    const auth::Claims caller{UserId("alice"), {}, {}};
    for (auto& item : *items) {
      auto draft = http::DraftFromItem(*item, caller, {}, ValidationMode::kStrict);
      ASSERT_TRUE(draft) << draft.error().message;
      drafts.push_back(*std::move(draft));
    }
  }
  std::memset(memory.data(), '#', memory.size());
  ASSERT_EQ(drafts.size(), 2u);
  EXPECT_EQ(drafts[0].user.str(), "alice");
  EXPECT_EQ(drafts[0].type, "TEXT_MESSAGE_CONTENT");
  EXPECT_EQ(drafts[0].json,
            R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"kept","timestamp":1})");
  EXPECT_EQ(drafts[1].type, "TASK_STATUS_UPDATE");
  EXPECT_EQ(drafts[1].task, "task-7");
  ASSERT_TRUE(drafts[1].context.has_value());
  EXPECT_EQ(drafts[1].context->str(), "c1");
  EXPECT_EQ(drafts[1].json.find('#'), std::string::npos) << drafts[1].json;
  EXPECT_NE(drafts[1].json.find(R"("taskId":"task-7")"), std::string::npos) << drafts[1].json;
}

TEST(BatchLoopbackTest, MixedItemsGetOneResultEachAndOnlyValidOnesAreDeliveredInOrder) {
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream a2a(hub.port(), kA2aStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));
  ASSERT_TRUE(hub.WaitForOpenStreams(3));

  const std::string body =
      "[" + AguiItem("alice", "one") + "," +
      R"({"user_id":"alice","protocol":"smtp","event":{}},)" + A2aItem("alice", "t1") + "," +
      R"("not an object",)" + R"({"protocol":"agui","event":{"type":"RUN_STARTED"}},)" +
      AguiItem("bob", "not yours") + "," + R"({"user_id":"alice","protocol":"agui","event":[1]},)" +
      R"({"user_id":"alice","protocol":"agui","event":{"type":"CUSTOM","name":"n","value":{"x":1e400}}},)" +
      AguiItem("alice", "two") + "]";
  const HttpReply reply = Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  const auto parsed = boost::json::parse(reply.body);
  EXPECT_EQ(Summaries(parsed),
            (std::vector<std::string>{"200", "422 validation_error protocol", "200",
                                      "422 validation_error item", "422 validation_error user_id",
                                      "403 forbidden", "422 validation_error event",
                                      "422 validation_error event.value.x", "200"}))
      << reply.body;
  EXPECT_EQ(parsed.at("accepted").to_number<int>(), 3);
  EXPECT_EQ(parsed.at("rejected").to_number<int>(), 6);
  const std::string one = IdAt(parsed, 0), t1 = IdAt(parsed, 2), two = IdAt(parsed, 8);
  // t1's context c1 is new: its CONTEXT_CREATED takes the sequence before t1's (spec §3.4).
  EXPECT_EQ(SequenceOf(t1), SequenceOf(one) + 2);
  EXPECT_EQ(SequenceOf(two), SequenceOf(t1) + 1);
  // connection_count: the primary stream plus contexts.
  EXPECT_EQ(parsed.at("results").as_array()[0].at("connection_count").to_number<int>(), 2);

  const auto agui_frames = agui.WaitFrames(3);
  ASSERT_EQ(agui_frames.size(), 3u);
  EXPECT_EQ(agui_frames[1], "id: " + one + "\ndata: " + AguiTextJson("m1", "one", "1") + "\n\n");
  EXPECT_EQ(agui_frames[2], "id: " + two + "\ndata: " + AguiTextJson("m1", "two", "1") + "\n\n");
  const auto a2a_frames = a2a.WaitFrames(2);
  ASSERT_EQ(a2a_frames.size(), 2u);
  EXPECT_EQ(FrameField(a2a_frames[1], "id"), t1);
  const auto context_frames = contexts.WaitFrames(6);
  ASSERT_EQ(context_frames.size(), 6u);
  EXPECT_EQ(FrameField(context_frames[2], "id"), one);
  EXPECT_NE(context_frames[3].find(R"("type":"CONTEXT_CREATED","contextId":"c1")"),
            std::string::npos)
      << context_frames[3];
  EXPECT_EQ(FrameField(context_frames[4], "id"), t1);
  EXPECT_EQ(FrameField(context_frames[5], "id"), two);

  // Nothing else was stored (bob's item was refused).
  EXPECT_EQ(ReadAllStored(hub.store(), "alice").size(), 4u);
  EXPECT_EQ(hub.store().Range(UserId("bob"))->last, 0u);
  EXPECT_EQ(agui.body().find("not yours"), std::string::npos);
}

TEST(BatchLoopbackTest, NdjsonSkipsBlankLinesAndRejectsOnlyTheMalformedLine) {
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_TRUE(hub.WaitForOpenStreams(1));

  const std::string body = AguiItem("alice", "a") + "\r\n\n   \n{\"user_id\": \"alice\", oops\n" +
                           "\t\n" + AguiItem("alice", "b") + "\n";
  const HttpReply reply = Request(hub.port(), "POST", kBatch, NdjsonAuthAs("alice"), body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto parsed = boost::json::parse(reply.body);
  const auto summaries = Summaries(parsed);
  ASSERT_EQ(summaries.size(), 3u) << reply.body;
  EXPECT_EQ(summaries[0], "200");
  EXPECT_EQ(summaries[1].rfind("400 bad_request", 0), 0u) << summaries[1];
  EXPECT_EQ(summaries[2], "200");
  EXPECT_EQ(parsed.at("accepted").to_number<int>(), 2);
  EXPECT_EQ(parsed.at("rejected").to_number<int>(), 1);

  const auto frames = agui.WaitFrames(3);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1],
            "id: " + IdAt(parsed, 0) + "\ndata: " + AguiTextJson("m1", "a", "1") + "\n\n");
  EXPECT_EQ(frames[2],
            "id: " + IdAt(parsed, 2) + "\ndata: " + AguiTextJson("m1", "b", "1") + "\n\n");
}

void ExpectError(const HttpReply& reply, int status, const std::string& code,
                 const std::string& field = "") {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_EQ(reply.body.rfind(R"({"code":")" + code + "\"", 0), 0u) << reply.body;
  if (!field.empty()) {
    EXPECT_NE(reply.body.find(R"("field":")" + field + "\""), std::string::npos) << reply.body;
  }
}

// A batch is queued to each subscriber's outbox at once: under the default bounds the largest
// batch must fit, so a subscriber that reads is never closed as a slow consumer by one publish.
TEST(BatchLoopbackTest, LargestBatchReachesSubscribersUnderDefaultBoundsWithoutClosingThem) {
  ScratchDir dir;
  TestHubOptions options = SqliteHub(dir);
  options.http.max_body_bytes = 2 * 1024 * 1024;  // 10 000 items of this shape need 1.3 MB
  TestHub hub(options);
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));
  ASSERT_TRUE(hub.WaitForOpenStreams(2));

  constexpr std::size_t kItems = http::kMaxBatchItems;
  std::string body = "[";
  for (std::size_t i = 0; i < kItems; ++i)
    body += (i > 0 ? "," : "") + AguiItem("alice", std::to_string(i));
  body += "]";
  const HttpReply reply = Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), body, 30s);
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 200);
  EXPECT_NE(reply.body.find(R"("accepted":10000,"rejected":0)"), std::string::npos);

  // Before the events: the opening bytes, and on contexts the snapshot.
  const auto agui_frames = agui.WaitFrames(kItems + 1, 30s);
  ASSERT_EQ(agui_frames.size(), kItems + 1);
  const auto context_frames = contexts.WaitFrames(kItems + 2, 30s);
  ASSERT_EQ(context_frames.size(), kItems + 2);
  for (std::size_t i = 0; i < kItems; ++i) {
    const std::string delta = R"("delta":")" + std::to_string(i) + R"(")";
    ASSERT_NE(agui_frames[i + 1].find(delta), std::string::npos) << i << ": " << agui_frames[i + 1];
    ASSERT_NE(context_frames[i + 2].find(delta), std::string::npos) << i;
  }
  EXPECT_EQ(hub.metrics().Disconnects(hub::DisconnectReason::kSlowConsumer), 0u);
  EXPECT_TRUE(hub.WaitForOpenStreams(2));
}

TEST(BatchLoopbackTest, TooManyItemsTooLargeBodyAndNonArrayAreRefusedWholeAndStoreNothing) {
  ScratchDir dir;
  TestHubOptions options = SqliteHub(dir);
  options.http.max_body_bytes = 2 * 1024 * 1024;
  TestHub hub(options);

  std::string many = "[";
  std::string lines;
  for (int i = 0; i <= 10'000; ++i) {
    if (i > 0) many += ",";
    many += AguiItem("alice", "x");
    lines += AguiItem("alice", "x") + "\n";
  }
  many += "]";
  ASSERT_LT(many.size(), options.http.max_body_bytes);
  ExpectError(Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), many), 413,
              "payload_too_large");
  ExpectError(Request(hub.port(), "POST", kBatch, NdjsonAuthAs("alice"), lines), 413,
              "payload_too_large");

  // Exactly 10 000 is fine.
  std::string most = "[";
  for (int i = 0; i < 10'000; ++i) most += (i > 0 ? "," : "") + AguiItem("alice", "y");
  most += "]";
  const HttpReply ok = Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), most, 30s);
  ASSERT_EQ(ok.status, 200) << ok.body.substr(0, 200);
  EXPECT_NE(ok.body.find(R"("accepted":10000,"rejected":0)"), std::string::npos);
  EXPECT_EQ(hub.store().Range(UserId("alice"))->last, 10'000u);

  // Over the body limit (a hub with a small one, so the refused body fits the socket buffers).
  {
    TestHubOptions small;
    small.http.max_body_bytes = 4096;
    TestHub limited(small);
    const std::string over = "[" + AguiItem("alice", std::string(4096, 'z')) + "]";
    ExpectError(Request(limited.port(), "POST", kBatch, JsonAuthAs("alice"), over), 413,
                "payload_too_large");
    ExpectError(Request(limited.port(), "POST", kBatch, NdjsonAuthAs("alice"), over), 413,
                "payload_too_large");
    EXPECT_EQ(limited.store().Range(UserId("alice"))->last, 0u);
  }

  ExpectError(Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), AguiItem("alice", "o")), 422,
              "validation_error", "body");
  ExpectError(Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), "42"), 422,
              "validation_error", "body");
  EXPECT_EQ(hub.store().Range(UserId("alice"))->last, 10'000u);
}

}  // namespace
}  // namespace herald::testing
