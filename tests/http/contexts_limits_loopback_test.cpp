// One user's contexts stay bounded on the wire (issue 14): the list comes in pages, the snapshot
// lists the newest up to its bound and says so, and a user may have only so many contexts,
// created only so fast — past either, events are still delivered.
#include <gtest/gtest.h>

#include "auth/base64url.h"
#include "http/contexts_support.h"

namespace herald::testing {
namespace {

// GET /contexts with `query` as `user`: the page and its meta (expects 200).
std::pair<json::array, json::object> ListPage(unsigned short port, const std::string& user,
                                              const std::string& query) {
  json::value data;
  json::object meta;
  const HttpReply reply = Request(port, "GET", std::string(kContexts) + query, AuthAs(user));
  EXPECT_TRUE(IsEnvelope(reply, 200, data, &meta)) << query;
  return {data.is_array() ? data.as_array() : json::array(), meta};
}

std::vector<std::string> CreateMany(unsigned short port, const std::string& user, int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) ids.push_back(Create(port, user, "c" + std::to_string(i)));
  return ids;
}

// IsError, and the message is exactly `message`.
::testing::AssertionResult IsRefusal(const HttpReply& reply, int status, const std::string& code,
                                     const std::string& message) {
  auto result = IsError(reply, status, code);
  if (!result) return result;
  if (Str(json::parse(reply.body).at("message")) != message) {
    return ::testing::AssertionFailure() << "message: " << reply.body;
  }
  return result;
}

std::vector<std::string> IdsOf(const json::array& contexts) {
  std::vector<std::string> ids;
  for (const json::value& context : contexts) ids.push_back(Str(context.at("context_id")));
  return ids;
}

TEST(ContextsLimitsLoopbackTest, ListPagesWalkEveryContextOnceInListOrderAndSayHowManyThereAre) {
  TestHub hub;
  CreateMany(hub.port(), "alice", 7);
  Create(hub.port(), "bob", "not alice's");
  const std::vector<std::string> whole = IdsOf(ListContexts(hub.port(), "alice").as_array());
  ASSERT_EQ(whole.size(), 7u);

  std::vector<std::string> walked;
  std::vector<std::size_t> sizes;
  std::string query = "?limit=3";
  for (int page = 0; page < 5; ++page) {
    const auto [contexts, meta] = ListPage(hub.port(), "alice", query);
    EXPECT_EQ(meta.at("total"), json::value(7)) << "page " << page;
    sizes.push_back(contexts.size());
    for (const std::string& id : IdsOf(contexts)) walked.push_back(id);
    if (meta.at("next_cursor").is_null()) break;
    query = "?limit=3&cursor=" + Str(meta.at("next_cursor"));
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));
  EXPECT_EQ(walked, whole) << "every context once, newest first";
  // A page ending exactly at the last context says no more follow.
  const auto [exact, exact_meta] = ListPage(hub.port(), "alice", "?limit=7");
  EXPECT_EQ(exact.size(), 7u);
  EXPECT_TRUE(exact_meta.at("next_cursor").is_null());
}

TEST(ContextsLimitsLoopbackTest, ListPagesHold100ByDefaultAndBadLimitsOrCursorsAre400) {
  TestHub hub;
  CreateMany(hub.port(), "alice", 101);
  const auto [first, meta] = ListPage(hub.port(), "alice", "");
  EXPECT_EQ(first.size(), 100u);
  EXPECT_EQ(meta.at("total"), json::value(101));
  ASSERT_TRUE(meta.at("next_cursor").is_string());
  const auto [rest, rest_meta] =
      ListPage(hub.port(), "alice", "?cursor=" + Str(meta.at("next_cursor")));
  EXPECT_EQ(rest.size(), 1u);
  EXPECT_TRUE(rest_meta.at("next_cursor").is_null());
  EXPECT_EQ(ListPage(hub.port(), "alice", "?limit=1000").first.size(), 101u);

  for (const std::string limit : {"0", "1001", "-1", "abc", "", "1.5", "99999999999999999999"}) {
    EXPECT_TRUE(IsRefusal(
        Request(hub.port(), "GET", std::string(kContexts) + "?limit=" + limit, AuthAs("alice")),
        400, "bad_request", "limit must be an integer from 1 to 1000."))
        << limit;
  }
  for (const std::string& cursor :
       {std::string("!!!"), std::string(""), auth::EncodeBase64Url("no colon"),
        auth::EncodeBase64Url("12:"), auth::EncodeBase64Url("x:c1"),
        auth::EncodeBase64Url("1:undefined"), auth::EncodeBase64Url(":c1")}) {
    EXPECT_TRUE(IsRefusal(
        Request(hub.port(), "GET", std::string(kContexts) + "?cursor=" + cursor, AuthAs("alice")),
        400, "bad_request", "Malformed cursor."))
        << cursor;
  }
}

TEST(ContextsLimitsLoopbackTest, TheSnapshotListsTheNewestUpToItsBoundAndSaysItWasTruncated) {
  TestHubOptions options;
  options.http.snapshot_max_contexts = 3;
  TestHub hub(options);
  const std::vector<std::string> ids = CreateMany(hub.port(), "alice", 5);
  const std::vector<std::string> whole = IdsOf(ListContexts(hub.port(), "alice").as_array());

  Frames contexts(hub.port(), kContextsStream, "alice");
  ASSERT_EQ(contexts.status(), 200);
  ASSERT_EQ(contexts.Next(), kPreamble);
  const json::object snapshot = EventOf(contexts.Next(), "system");
  ASSERT_EQ(Str(snapshot.at("type")), "CONTEXTS_SNAPSHOT");
  EXPECT_EQ(IdsOf(snapshot.at("contexts").as_array()),
            (std::vector<std::string>(whole.begin(), whole.begin() + 3)));
  EXPECT_EQ(snapshot.at("total"), json::value(5));
  EXPECT_EQ(snapshot.at("truncated"), json::value(true));

  // Filtered on one context: that one, whole.
  Frames one(hub.port(), std::string(kContextsStream) + "?context_id=" + ids.front(), "alice");
  EXPECT_EQ(IdsOf(OpenContexts(one)), (std::vector<std::string>{ids.front()}));
}

TEST(ContextsLimitsLoopbackTest, PastTheCapCreateIs409AndEventsAreDeliveredWithoutCreatingOne) {
  TestHubOptions options;
  options.hub.publisher.max_contexts_per_user = 3;
  TestHub hub(options);
  CreateMany(hub.port(), "alice", 2);
  SseStream stream(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(stream.WaitFrames(2).size(), 2u);

  // A batch naming five new threads: the first fits under the cap, the other four are delivered
  // with no context of their own.
  std::string batch = "[";
  for (int i = 0; i < 5; ++i) {
    batch +=
        std::string(i == 0 ? "" : ",") +
        R"({"user_id":"alice","protocol":"agui","event":{"type":"RUN_STARTED","threadId":"t-)" +
        std::to_string(i) + R"(","runId":"r"}})";
  }
  const HttpReply reply = Request(hub.port(), "POST", kBatch, JsonAuthAs("alice"), batch + "]");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body).at("accepted"), json::value(5)) << reply.body;
  const std::string fence = AguiFence(hub.port(), "alice");
  ASSERT_TRUE(stream.WaitFrameContaining(fence));
  std::size_t created = 0;
  std::size_t runs = 0;
  for (const std::string& frame : stream.WaitFrames(0)) {
    created += frame.find("CONTEXT_CREATED") != std::string::npos ? 1 : 0;
    runs += frame.find("RUN_STARTED") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(created, 1u) << stream.body();
  EXPECT_EQ(runs, 5u) << "every event was delivered";

  const json::value list = ListContexts(hub.port(), "alice");
  ASSERT_EQ(list.as_array().size(), 3u) << json::serialize(list);
  EXPECT_TRUE(IsRefusal(Request(hub.port(), "POST", kContexts, JsonAuthAs("alice"), "{}"), 409,
                        "conflict",
                        "This user has reached the limit of 3 contexts; delete some first."));
  EXPECT_FALSE(Create(hub.port(), "bob", "bob's own").empty()) << "the cap is per user";
  EXPECT_EQ(ScrapeMetric(hub.port(), R"(herald_context_creations_refused_total{reason="cap"})"),
            5.0);

  // Deleting one makes room.
  EXPECT_EQ(
      Request(hub.port(), "DELETE", ContextPath(Str(list.at(0).at("context_id"))), AuthAs("alice"))
          .status,
      204);
  EXPECT_FALSE(Create(hub.port(), "alice", "room again").empty());
}

TEST(ContextsLimitsLoopbackTest, PastTheCreationRateCreateIs429WithRetryAfterAndBobIsServed) {
  TestHubOptions options;
  options.hub.publisher.context_creates = {.per_second = 0.001, .burst = 2};
  TestHub hub(options);
  CreateMany(hub.port(), "alice", 2);
  const HttpReply refused = Request(hub.port(), "POST", kContexts, JsonAuthAs("alice"), "{}");
  EXPECT_TRUE(IsRefusal(refused, 429, "rate_limited",
                        "Contexts are being created too fast for this user; retry later."));
  EXPECT_GE(std::stoi(refused.Header("retry-after")), 1) << refused.Header("retry-after");
  // An event naming a new context is delivered all the same, without creating it.
  const HttpReply event =
      PublishAgui(hub.port(), "alice",
                  R"({"user_id":"alice","type":"RUN_STARTED","threadId":"t","runId":"r"})");
  EXPECT_EQ(event.status, 200) << event.body;
  EXPECT_EQ(ListContexts(hub.port(), "alice").as_array().size(), 2u);
  EXPECT_FALSE(Create(hub.port(), "bob", "bob's own").empty()) << "the budget is per user";
}

}  // namespace
}  // namespace herald::testing
