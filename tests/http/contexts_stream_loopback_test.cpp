// Contexts on the streams (spec §1.1, §3.4, §4): statistics from a scripted agent session and
// across a restart, the CONTEXTS_SNAPSHOT's consistency with the live stream under a concurrent
// publisher, and the ?context_id= filter on delivery, snapshot and replay. On a SQLite store.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>
#include <thread>

#include "http/loopback_support.h"
#include "http/store_loopback_support.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kContexts[] = "/api/v1/core/contexts";

std::string A2a(const std::string& type, const std::string& task, const std::string& context,
                const std::string& extra) {
  return R"({"user_id":"alice","type":")" + type + R"(","taskId":")" + task + R"(","contextId":")" +
         context + "\"" + extra + "}";
}

std::string Agui(const std::string& type, const std::string& fields) {
  return R"({"user_id":"alice","type":")" + type + "\"," + fields + "}";
}

void MustPublish(unsigned short port, const char* webhook, const std::string& body) {
  const HttpReply reply = Request(port, "POST", webhook, JsonAuthAs("alice"), body);
  ASSERT_EQ(reply.status, 200) << body << " -> " << reply.body;
}

// A scripted agent session on context "trip": two A2A tasks with status updates and three agent
// messages, and an AG-UI run with two text messages attributed by a top-level context_id.
void PublishSession(unsigned short port) {
  MustPublish(port, kA2aWebhook, A2a("TASK_SUBMITTED", "t1", "trip", R"(,"agentName":"planner")"));
  MustPublish(port, kA2aWebhook,
              A2a("TASK_STATUS_UPDATE", "t1", "trip", R"(,"state":"TASK_STATE_WORKING")"));
  MustPublish(port, kA2aWebhook,
              A2a("AGENT_MESSAGE", "t1", "trip", R"(,"messageId":"m1","content":"Hi")"));
  MustPublish(port, kA2aWebhook,
              A2a("AGENT_MESSAGE", "t1", "trip", R"(,"messageId":"m2","content":"Where to?")"));
  MustPublish(port, kA2aWebhook,
              A2a("TASK_STATUS_UPDATE", "t1", "trip", R"(,"state":"TASK_STATE_COMPLETED")"));
  MustPublish(port, kA2aWebhook, A2a("TASK_SUBMITTED", "t2", "trip", R"(,"agentName":"booker")"));
  MustPublish(port, kA2aWebhook,
              A2a("AGENT_MESSAGE", "t2", "trip", R"(,"messageId":"m3","content":"Booked")"));
  MustPublish(port, kAguiWebhook, Agui("RUN_STARTED", R"("threadId":"trip","runId":"r1")"));
  for (const std::string id : {"x1", "x2"}) {
    MustPublish(port, kAguiWebhook,
                Agui("TEXT_MESSAGE_START",
                     R"("context_id":"trip","messageId":")" + id + R"(","role":"assistant")"));
    MustPublish(port, kAguiWebhook,
                Agui("TEXT_MESSAGE_CONTENT",
                     R"("context_id":"trip","messageId":")" + id + R"(","delta":"..")"));
    MustPublish(port, kAguiWebhook,
                Agui("TEXT_MESSAGE_END", R"("context_id":"trip","messageId":")" + id + "\""));
  }
  MustPublish(port, kAguiWebhook, Agui("RUN_FINISHED", R"("threadId":"trip","runId":"r1")"));
}

boost::json::object OnlyContext(unsigned short port) {
  const HttpReply reply = Request(port, "GET", kContexts, AuthAs("alice"));
  EXPECT_EQ(reply.status, 200) << reply.body;
  const auto body = boost::json::parse(reply.body);
  const auto& list = body.at("data").as_array();
  EXPECT_EQ(list.size(), 1u) << reply.body;
  return list.empty() ? boost::json::object() : list[0].as_object();
}

// The payload of a contexts-stream frame.
boost::json::value DataOf(const std::string& frame) {
  return boost::json::parse(FrameField(frame, "data"));
}

TEST(ContextsStreamLoopbackTest, ScriptedAgentSessionYieldsItsCountsAndTheySurviveARestart) {
  ScratchDir dir;
  {
    TestHub hub(SqliteHub(dir));
    PublishSession(hub.port());
    const auto trip = OnlyContext(hub.port());
    EXPECT_EQ(trip.at("context_id").as_string(), "trip");
    EXPECT_EQ(trip.at("user_id").as_string(), "alice");
    EXPECT_EQ(trip.at("task_count").to_number<int>(), 2);
    EXPECT_EQ(trip.at("message_count").to_number<int>(), 5);  // 3 AGENT_MESSAGE + 2 END
    EXPECT_TRUE(trip.at("last_message_at").is_string());

    SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
    const auto snapshot = contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT");
    ASSERT_TRUE(snapshot);
    const auto entries = DataOf(*snapshot).at("event").at("contexts").as_array();
    ASSERT_EQ(entries.size(), 1u);
    const auto& entry = entries[0].as_object();
    EXPECT_EQ(entry.size(), 6u) << boost::json::serialize(entry);
    EXPECT_EQ(entry.at("context_id").as_string(), "trip");
    EXPECT_EQ(entry.at("task_count").to_number<int>(), 2);
    EXPECT_EQ(entry.at("message_count").to_number<int>(), 5);
    EXPECT_EQ(entry.at("created_at"), trip.at("created_at"));
    EXPECT_EQ(entry.at("updated_at"), trip.at("updated_at"));
    // 1 CONTEXT_CREATED + 15 session events: the snapshot reflects all of them.
    EXPECT_EQ(SequenceOf(FrameField(*snapshot, "id")), 16u);
  }
  TestHub hub(SqliteHub(dir));
  auto trip = OnlyContext(hub.port());
  EXPECT_EQ(trip.at("task_count").to_number<int>(), 2);
  EXPECT_EQ(trip.at("message_count").to_number<int>(), 5);
  // t1 was seen before the restart: it is not counted again; t3 is new.
  MustPublish(hub.port(), kA2aWebhook,
              A2a("AGENT_MESSAGE", "t1", "trip", R"(,"messageId":"m4","content":"Back")"));
  MustPublish(hub.port(), kA2aWebhook, A2a("TASK_SUBMITTED", "t3", "trip", R"(,"agentName":"x")"));
  trip = OnlyContext(hub.port());
  EXPECT_EQ(trip.at("task_count").to_number<int>(), 3);
  EXPECT_EQ(trip.at("message_count").to_number<int>(), 6);
}

// Spec §4: every event is either reflected in the snapshot (sequence <= the snapshot's id) or
// delivered after it, never both, never neither. The publisher sends AGENT_MESSAGEs on one
// context while streams open one after another; each snapshot's message_count must match its
// id exactly, and each stream must then receive exactly the sequences after it.
TEST(ContextsStreamLoopbackTest, SnapshotsTakenWhileEventsFlowAreConsistentWithTheirStreams) {
  ScratchDir dir;
  TestHubOptions options = SqliteHub(dir);
  options.hub.max_connections_per_user = 100;
  TestHub hub(options);
  constexpr int kEvents = 1500;
  constexpr int kMaxStreams = 40;

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> published{0};
  std::thread publisher([&] {
    HttpClient client(hub.port());
    for (int i = 0; i < kEvents; ++i) {
      const std::string body = A2a("AGENT_MESSAGE", "t" + std::to_string(i % 7), "c1",
                                   R"(,"messageId":"m)" + std::to_string(i) + R"(","content":"x")");
      if (client.Request("POST", kA2aWebhook, JsonAuthAs("alice"), body).status != 200) ++failures;
      ++published;
    }
    done = true;
  });

  struct Observed {
    std::unique_ptr<SseStream> stream;
    std::uint64_t snapshot_id = 0;
    std::int64_t messages = 0;
    std::int64_t tasks = 0;
  };
  std::vector<Observed> observed;
  while (!done && observed.size() < kMaxStreams) {
    // Spread the opens over the publishing (a stream every kEvents / kMaxStreams / 2 events), so
    // that they cannot all land before the first event on a fast machine.
    const int due = static_cast<int>(observed.size()) * (kEvents / kMaxStreams / 2);
    ASSERT_TRUE(WaitUntil([&] { return published.load() >= due || done.load(); }));
    Observed o;
    o.stream = std::make_unique<SseStream>(hub.port(), kContextsStream, AuthAs("alice"));
    const auto snapshot = o.stream->WaitFrameContaining("CONTEXTS_SNAPSHOT");
    ASSERT_TRUE(snapshot);
    o.snapshot_id = SequenceOf(FrameField(*snapshot, "id"));
    const boost::json::value data = DataOf(*snapshot);
    for (const auto& entry : data.at("event").at("contexts").as_array()) {
      o.messages = entry.at("message_count").to_number<std::int64_t>();
      o.tasks = entry.at("task_count").to_number<std::int64_t>();
    }
    observed.push_back(std::move(o));
  }
  publisher.join();
  ASSERT_EQ(failures.load(), 0);
  // A last event, so that every stream has something after its snapshot.
  MustPublish(hub.port(), kA2aWebhook,
              A2a("AGENT_MESSAGE", "t0", "c1", R"(,"messageId":"last","content":"x")"));
  const std::uint64_t last = kEvents + 2;  // CONTEXT_CREATED, the messages, the last one

  std::set<std::uint64_t> distinct;
  for (Observed& o : observed) {
    distinct.insert(o.snapshot_id);
    // Sequence 1 is CONTEXT_CREATED; every later one is a message, tasks t0..t6 in turn.
    const std::int64_t reflected = o.snapshot_id > 1 ? std::int64_t(o.snapshot_id) - 1 : 0;
    EXPECT_EQ(o.messages, reflected) << "snapshot id " << o.snapshot_id;
    EXPECT_EQ(o.tasks, std::min<std::int64_t>(reflected, 7)) << "snapshot id " << o.snapshot_id;

    ASSERT_TRUE(o.stream->WaitFrameContaining(R"("messageId":"last")", 30s))
        << "snapshot id " << o.snapshot_id;
    std::vector<std::uint64_t> after;
    bool past_snapshot = false;
    for (const std::string& frame : SplitFrames(o.stream->body())) {
      if (frame.find("CONTEXTS_SNAPSHOT") != std::string::npos) {
        past_snapshot = true;
        continue;
      }
      const std::string id = FrameField(frame, "id");
      if (past_snapshot && !id.empty()) after.push_back(SequenceOf(id));
    }
    std::vector<std::uint64_t> expected;
    for (std::uint64_t s = o.snapshot_id + 1; s <= last; ++s) expected.push_back(s);
    EXPECT_EQ(after, expected) << "snapshot id " << o.snapshot_id;
  }
  // The streams opened while events flowed, not all before or after.
  EXPECT_GE(distinct.size(), 2u);
}

TEST(ContextsStreamLoopbackTest, ContextFilterLimitsDeliverySnapshotAndReplayToOneContext) {
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  MustPublish(hub.port(), kA2aWebhook, A2a("TASK_SUBMITTED", "t1", "c1", R"(,"agentName":"a")"));
  MustPublish(hub.port(), kA2aWebhook, A2a("TASK_SUBMITTED", "t2", "c2", R"(,"agentName":"b")"));

  SseStream contexts(hub.port(), std::string(kContextsStream) + "?context_id=c1", AuthAs("alice"));
  SseStream a2a(hub.port(), std::string(kA2aStream) + "?context_id=c1", AuthAs("alice"));
  const auto snapshot = contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT");
  ASSERT_TRUE(snapshot);
  const auto entries = DataOf(*snapshot).at("event").at("contexts").as_array();
  ASSERT_EQ(entries.size(), 1u) << *snapshot;
  EXPECT_EQ(entries[0].at("context_id").as_string(), "c1");
  ASSERT_TRUE(hub.WaitForOpenStreams(2));

  MustPublish(hub.port(), kA2aWebhook,
              A2a("AGENT_MESSAGE", "t2", "c2", R"(,"messageId":"other","content":"x")"));
  const HttpReply mine =
      Request(hub.port(), "POST", kA2aWebhook, JsonAuthAs("alice"),
              A2a("AGENT_MESSAGE", "t1", "c1", R"(,"messageId":"mine","content":"x")"));
  ASSERT_EQ(mine.status, 200);
  ASSERT_TRUE(contexts.WaitFrameContaining(R"("messageId":"mine")"));
  ASSERT_TRUE(a2a.WaitFrameContaining(R"("messageId":"mine")"));
  EXPECT_EQ(contexts.body().find(R"("messageId":"other")"), std::string::npos);
  EXPECT_EQ(a2a.body().find(R"("messageId":"other")"), std::string::npos);

  // Replay from the start of the history honours the filter too.
  const std::string first = FormatEventId(EventId{hub.store().History(), 1});
  SseStream replay(hub.port(), std::string(kA2aStream) + "?context_id=c1",
                   WithLastEventId(AuthAs("alice"), first));
  ASSERT_TRUE(replay.WaitFrameContaining(R"("messageId":"mine")"));
  EXPECT_NE(replay.body().find(R"("taskId":"t1")"), std::string::npos);
  EXPECT_EQ(replay.body().find(R"("taskId":"t2")"), std::string::npos);
  EXPECT_EQ(replay.body().find("CONTEXT_CREATED"), std::string::npos) << "a2a carries no system";
}

}  // namespace
}  // namespace herald::testing
