// Cluster mode (spec §7) with real processes: two or three `herald serve` nodes share one
// throwaway PostgreSQL server; events published on any node reach the streams of every node
// exactly once, with the same ids, in one order, also across node kills, cut database
// connections, a database restart, and with polling alone.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/minter.h"
#include "core/event_id.h"
#include "support/herald_process.h"
#include "support/pg_server.h"
#include "support/test_client.h"

namespace herald::testing {
namespace {

constexpr char kSecret[] = "cluster-test-secret-cluster-test-secret";

std::string Token(const std::string& user, const std::string& scope = "") {
  return auth::MintHs256(kSecret, user, scope, std::chrono::hours(1),
                         std::chrono::system_clock::now());
}

std::vector<std::pair<std::string, std::string>> Auth(const std::string& user) {
  return {{"Authorization", "Bearer " + Token(user)}, {"Content-Type", "application/json"}};
}

std::string EventIdOf(const HttpReply& reply) {
  static const std::regex kEventId(R"re("event_id":"([^"]+)")re");
  std::smatch match;
  return std::regex_search(reply.body, match, kEventId) ? match[1].str() : std::string();
}

std::string Body(const std::string& user, const std::string& label) {
  return fmt::format(R"({{"user_id":"{}","type":"CUSTOM","name":"{}","value":1}})", user, label);
}

// The ids of the event frames (not `connected`, heartbeats or resets) received so far.
std::vector<std::string> EventIds(const SseStream& stream) {
  std::vector<std::string> ids;
  for (const std::string& frame : SplitFrames(stream.body())) {
    if (!FrameField(frame, "event").empty()) continue;
    if (const std::string id = FrameField(frame, "id"); !id.empty()) ids.push_back(id);
  }
  return ids;
}

// Waits (bounded) until the stream has at least `count` event frames; returns their ids.
std::vector<std::string> WaitEventIds(SseStream& stream, std::size_t count,
                                      std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> ids = EventIds(stream);
  while (ids.size() < count && std::chrono::steady_clock::now() < deadline) {
    stream.connection().ReadOnce(100ms);
    stream.WaitFrames(0, 0ms);
    ids = EventIds(stream);
  }
  return ids;
}

// Reads for a while longer: what else arrives (duplicates would).
std::vector<std::string> SettleEventIds(SseStream& stream) {
  stream.connection().ReadFor(300ms);
  stream.WaitFrames(0, 0ms);
  return EventIds(stream);
}

// A cluster: one fresh database, nodes started on it on demand.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = PgServer::Shared().CreateDatabase();
    data_dir_ = std::filesystem::temp_directory_path() /
                fmt::format("herald-cluster-test-{}-{:08x}", ::getpid(), std::random_device{}());
  }
  void TearDown() override {
    nodes_.clear();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }

  HeraldProcess& StartNode(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--listen",     "127.0.0.1:0",
        "--jwt-secret", kSecret,
        "--store",      url_,
        "--data-dir",   (data_dir_ / std::to_string(nodes_.size())).string(),
        "--log-level",  "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<HeraldProcess>(HERALD_BINARY, args));
    return *nodes_.back();
  }

  // Publishes one event for `user` on `node`; returns its id ("" when refused).
  static std::string Publish(HeraldProcess& node, const std::string& user,
                             const std::string& label) {
    const HttpReply reply =
        Request(node.port(), "POST", "/api/v1/webhook/agui", Auth(user), Body(user, label));
    return reply.status == 200 ? EventIdOf(reply) : std::string();
  }

  static std::unique_ptr<SseStream> Open(HeraldProcess& node, const std::string& user,
                                         const std::string& last_event_id = "") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Authorization", "Bearer " + Token(user)}};
    if (!last_event_id.empty()) headers.emplace_back("Last-Event-ID", last_event_id);
    auto stream = std::make_unique<SseStream>(node.port(), "/api/v1/stream/agui", headers);
    EXPECT_EQ(stream->status(), 200);
    return stream;
  }

  static std::string Metrics(HeraldProcess& node) {
    return Request(node.port(), "GET", "/metrics",
                   {{"Authorization", "Bearer " + Token("prometheus", "metrics")}})
        .body;
  }

  std::string url_;
  std::filesystem::path data_dir_;
  std::vector<std::unique_ptr<HeraldProcess>> nodes_;
};

// Polls /readyz (bounded) until it answers `status`.
bool ReadyzBecomes(HeraldProcess& node, int status) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Request(node.port(), "GET", "/readyz").status == status) return true;
    std::this_thread::sleep_for(50ms);  // polling an endpoint, bounded
  }
  return false;
}

// Every id appears once, and sequences increase.
void ExpectIncreasingOnce(const std::vector<std::string>& ids) {
  std::set<std::string> seen;
  std::uint64_t last = 0;
  for (const std::string& text : ids) {
    EXPECT_TRUE(seen.insert(text).second) << "delivered twice: " << text;
    const auto id = ParseEventId(text);
    ASSERT_TRUE(id) << text;
    EXPECT_GT(id->sequence, last) << text;
    last = id->sequence;
  }
}

TEST_F(ClusterTest, EventPublishedOnOneNodeReachesEveryNodeOnceWithItsIds) {
  HeraldProcess& a = StartNode();
  HeraldProcess& b = StartNode();
  HeraldProcess& c = StartNode();
  auto on_a = Open(a, "alice");
  auto on_b = Open(b, "alice");
  auto on_c = Open(c, "alice");
  std::vector<std::string> published;
  for (int i = 0; i < 20; ++i) published.push_back(Publish(a, "alice", fmt::format("e{}", i)));
  for (auto* stream : {on_a.get(), on_b.get(), on_c.get()}) {
    WaitEventIds(*stream, published.size());
    EXPECT_EQ(SettleEventIds(*stream), published);
  }
  // Another user's stream on B received none of them.
  auto bob = Open(b, "bob");
  EXPECT_TRUE(SettleEventIds(*bob).empty());
}

TEST_F(ClusterTest, ConcurrentPublishersOnEveryNodeGiveOneOrderEverywhere) {
  constexpr int kPerNode = 40;
  std::vector<HeraldProcess*> nodes = {&StartNode(), &StartNode(), &StartNode()};
  std::vector<std::unique_ptr<SseStream>> streams;
  for (HeraldProcess* node : nodes) streams.push_back(Open(*node, "alice"));
  std::mutex mutex;
  std::set<std::string> acknowledged;
  {
    std::vector<std::jthread> publishers;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      publishers.emplace_back([&, n] {
        HttpClient client(nodes[n]->port());
        for (int i = 0; i < kPerNode; ++i) {
          const HttpReply reply = client.Request("POST", "/api/v1/webhook/agui", Auth("alice"),
                                                 Body("alice", fmt::format("n{}-{}", n, i)));
          std::lock_guard lock(mutex);
          if (reply.status == 200) acknowledged.insert(EventIdOf(reply));
        }
      });
    }
  }
  ASSERT_EQ(acknowledged.size(), nodes.size() * kPerNode);
  std::vector<std::vector<std::string>> seen;
  for (auto& stream : streams) {
    WaitEventIds(*stream, acknowledged.size());
    seen.push_back(SettleEventIds(*stream));
  }
  EXPECT_EQ(std::set<std::string>(seen[0].begin(), seen[0].end()), acknowledged);
  ExpectIncreasingOnce(seen[0]);
  EXPECT_EQ(seen[1], seen[0]);
  EXPECT_EQ(seen[2], seen[0]);
  // Sequences are gapless: one order cluster-wide.
  EXPECT_EQ(ParseEventId(seen[0].back())->sequence, acknowledged.size());
}

TEST_F(ClusterTest, StreamResumesOnAnotherNodeWithExactlyTheRest) {
  HeraldProcess& a = StartNode();
  HeraldProcess& b = StartNode();
  std::vector<std::string> published;
  for (int i = 0; i < 10; ++i) published.push_back(Publish(a, "alice", fmt::format("e{}", i)));
  auto resumed = Open(b, "alice", published[3]);
  WaitEventIds(*resumed, 6);
  EXPECT_EQ(SettleEventIds(*resumed),
            std::vector<std::string>(published.begin() + 4, published.end()));
  // And it goes on live with events published on A.
  const std::string next = Publish(a, "alice", "live");
  WaitEventIds(*resumed, 7);
  EXPECT_EQ(EventIds(*resumed).back(), next);
}

// Publishes from `threads` clients on `node` until stopped or the node dies; acknowledged ids
// are collected.
class Storm {
 public:
  Storm(HeraldProcess& node, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, port = node.port(), t](std::stop_token stop) {
        try {
          HttpClient client(port);
          for (int i = 0; i < 100'000 && !stop.stop_requested(); ++i) {
            const HttpReply reply = client.Request("POST", "/api/v1/webhook/agui", Auth("alice"),
                                                   Body("alice", fmt::format("t{}-{}", t, i)), 5s);
            std::lock_guard lock(mutex_);
            if (reply.status == 200) {
              acknowledged_.insert(EventIdOf(reply));
            } else {
              ++refused_;
            }
          }
        } catch (const std::exception&) {
          // The node died under us, or its answer did not come in time.
        }
      });
    }
  }
  // Waits (bounded) until `count` events were acknowledged in all.
  bool WaitAcknowledged(std::size_t count, std::chrono::seconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (acknowledged_.size() >= count) return true;
      }
      std::this_thread::sleep_for(5ms);  // polling a counter, bounded
    }
    return false;
  }
  void Stop() { threads_.clear(); }
  std::set<std::string> acknowledged() {
    std::lock_guard lock(mutex_);
    return acknowledged_;
  }
  std::size_t refused() {
    std::lock_guard lock(mutex_);
    return refused_;
  }

 private:
  std::mutex mutex_;
  std::set<std::string> acknowledged_;
  std::size_t refused_ = 0;
  std::vector<std::jthread> threads_;
};

// Every acknowledged event is on the stream, once, in order.
void ExpectAllOnce(SseStream& stream, const std::set<std::string>& acknowledged) {
  WaitEventIds(stream, acknowledged.size());
  const std::vector<std::string> ids = SettleEventIds(stream);
  ExpectIncreasingOnce(ids);
  const std::set<std::string> received(ids.begin(), ids.end());
  for (const std::string& id : acknowledged) EXPECT_TRUE(received.contains(id)) << id;
}

TEST_F(ClusterTest, EveryAcknowledgedEventOfAKilledNodeReachesTheOthersOnce) {
  HeraldProcess& a = StartNode();
  HeraldProcess& b = StartNode();
  auto on_b = Open(b, "alice");
  Storm storm(a, 3);
  ASSERT_TRUE(storm.WaitAcknowledged(500));
  a.Kill(SIGKILL);
  storm.Stop();
  ExpectAllOnce(*on_b, storm.acknowledged());
}

TEST_F(ClusterTest, TerminatedDatabaseConnectionsLoseNothingAndDeliverOnce) {
  HeraldProcess& a = StartNode();
  HeraldProcess& b = StartNode();
  auto on_b = Open(b, "alice");
  Storm storm(a, 2);
  ASSERT_TRUE(storm.WaitAcknowledged(200));
  EXPECT_GE(PgServer::Shared().TerminateConnections(DatabaseOf(url_)), 2);
  const std::size_t before = storm.acknowledged().size();
  ASSERT_TRUE(storm.WaitAcknowledged(before + 200)) << "publishing did not resume";
  storm.Stop();
  ExpectAllOnce(*on_b, storm.acknowledged());
  const std::string metrics = Metrics(b);
  EXPECT_NE(metrics.find("herald_relay_reconnects_total "), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("herald_relay_reconnects_total 0\n"), std::string::npos)
      << "B's relay never reconnected";
}

TEST_F(ClusterTest, DatabaseRestartAnswers503ThenServiceResumesWithoutRestartingHubs) {
  HeraldProcess& a = StartNode();
  HeraldProcess& b = StartNode();
  auto on_b = Open(b, "alice");
  std::vector<std::string> published;
  for (int i = 0; i < 5; ++i) published.push_back(Publish(a, "alice", fmt::format("e{}", i)));
  PgServer::Shared().Stop();
  // B notices through its relay: not ready (a balancer sends its streams elsewhere).
  EXPECT_TRUE(ReadyzBecomes(b, 503)) << "B stayed ready without its database";
  const HttpReply refused =
      Request(a.port(), "POST", "/api/v1/webhook/agui", Auth("alice"), Body("alice", "down"));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_FALSE(refused.Header("retry-after").empty());
  EXPECT_NE(refused.body.find("service_unavailable"), std::string::npos);
  PgServer::Shared().Start();
  // Bounded: the writer reconnects at its next group.
  std::string next;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (next.empty() && std::chrono::steady_clock::now() < deadline) {
    next = Publish(a, "alice", "back");
    if (next.empty()) std::this_thread::sleep_for(50ms);  // retrying a refused publish, bounded
  }
  ASSERT_FALSE(next.empty()) << "publishing did not resume after the restart";
  EXPECT_TRUE(ReadyzBecomes(b, 200)) << "B's relay did not come back";
  published.push_back(next);
  WaitEventIds(*on_b, published.size());
  EXPECT_EQ(SettleEventIds(*on_b), published);
}

TEST_F(ClusterTest, PollingAloneDeliversAcrossNodes) {
  const std::vector<std::string> polling = {"--relay-listen", "false", "--relay-poll-interval",
                                            "0.1"};
  HeraldProcess& a = StartNode(polling);
  HeraldProcess& b = StartNode(polling);
  auto on_b = Open(b, "alice");
  std::vector<std::string> published;
  for (int i = 0; i < 10; ++i) published.push_back(Publish(a, "alice", fmt::format("e{}", i)));
  WaitEventIds(*on_b, published.size());
  EXPECT_EQ(SettleEventIds(*on_b), published);
}

// Opens a stream and keeps it when it was admitted; returns the status.
int TryOpen(HeraldProcess& node, const std::string& user, const std::string& path,
            std::vector<std::unique_ptr<SseStream>>& held) {
  auto stream = std::make_unique<SseStream>(
      node.port(), path,
      std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + Token(user)}});
  const int status = stream->status();
  if (status == 429) {
    EXPECT_EQ(stream->head().Header("retry-after"), "5");
  }
  if (status == 200) held.push_back(std::move(stream));
  return status;
}

// Retries (bounded) until a stream on `node` is admitted; returns whether it was.
bool OpensWithin(HeraldProcess& node, const std::string& user,
                 std::vector<std::unique_ptr<SseStream>>& held, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (TryOpen(node, user, "/api/v1/stream/agui", held) == 200) return true;
    std::this_thread::sleep_for(100ms);  // retrying a refused open, bounded
  }
  return false;
}

TEST_F(ClusterTest, PerUserCapCountsStreamsOnEveryNodeAndAClosedOneFreesItsSlot) {
  const std::vector<std::string> cap = {"--max-connections-per-user", "3"};
  HeraldProcess& a = StartNode(cap);
  HeraldProcess& b = StartNode(cap);
  std::vector<std::unique_ptr<SseStream>> on_a, on_b;
  ASSERT_EQ(TryOpen(a, "alice", "/api/v1/stream/agui", on_a), 200);
  ASSERT_EQ(TryOpen(a, "alice", "/api/v1/stream/agui", on_a), 200);
  ASSERT_EQ(TryOpen(b, "alice", "/api/v1/stream/agui", on_b), 200);
  EXPECT_EQ(TryOpen(b, "alice", "/api/v1/stream/agui", on_b), 429);
  EXPECT_EQ(TryOpen(a, "alice", "/api/v1/stream/agui", on_a), 429);
  // Other streams and users have caps of their own.
  EXPECT_EQ(TryOpen(b, "alice", "/api/v1/stream/a2a", on_b), 200);
  EXPECT_EQ(TryOpen(b, "bob", "/api/v1/stream/agui", on_b), 200);
  // A stream closed on A frees its slot for B.
  on_a.pop_back();
  EXPECT_TRUE(OpensWithin(b, "alice", on_b, 5s));
  EXPECT_EQ(TryOpen(a, "alice", "/api/v1/stream/agui", on_a), 429);
}

TEST_F(ClusterTest, KilledNodeGivesItsSlotsBackWhenItsLeaseRunsOut) {
  const std::vector<std::string> options = {"--max-connections-per-user", "2", "--cluster-lease",
                                            "2"};
  HeraldProcess& a = StartNode(options);
  HeraldProcess& b = StartNode(options);
  std::vector<std::unique_ptr<SseStream>> on_a, on_b;
  ASSERT_EQ(TryOpen(a, "alice", "/api/v1/stream/agui", on_a), 200);
  ASSERT_EQ(TryOpen(a, "alice", "/api/v1/stream/agui", on_a), 200);
  ASSERT_EQ(TryOpen(b, "alice", "/api/v1/stream/agui", on_b), 429);
  a.Kill(SIGKILL);
  EXPECT_TRUE(OpensWithin(b, "alice", on_b, 15s)) << "A's slots never came back";
  EXPECT_TRUE(OpensWithin(b, "alice", on_b, 5s));
  EXPECT_EQ(TryOpen(b, "alice", "/api/v1/stream/agui", on_b), 429);
}

TEST_F(ClusterTest, ContextsCreatedOnOneNodeAreListedSnapshottedAndFilteredOnAnother) {
  HeraldProcess& a = StartNode();
  HeraldProcess& b = StartNode();
  const HttpReply created =
      Request(a.port(), "POST", "/api/v1/core/contexts", Auth("alice"), R"({"name":"Trip"})");
  ASSERT_EQ(created.status, 201) << created.body;
  static const std::regex kContextId(R"re("context_id":"([^"]+)")re");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(created.body, match, kContextId));
  const std::string id = match[1].str();
  // B lists it, and B's contexts stream starts with it in the snapshot.
  const HttpReply listed = Request(b.port(), "GET", "/api/v1/core/contexts", Auth("alice"));
  EXPECT_NE(listed.body.find(id), std::string::npos) << listed.body;
  EXPECT_NE(listed.body.find("\"Trip\""), std::string::npos);
  SseStream snapshot(b.port(), "/api/v1/stream/contexts",
                     {{"Authorization", "Bearer " + Token("alice")}});
  const auto first = snapshot.WaitFrameContaining("CONTEXTS_SNAPSHOT");
  ASSERT_TRUE(first);
  EXPECT_NE(first->find(id), std::string::npos) << *first;
  // An event published on A to the context reaches B's filtered stream, and B's statistics.
  SseStream filtered(b.port(), "/api/v1/stream/agui?context_id=" + id,
                     {{"Authorization", "Bearer " + Token("alice")}});
  const HttpReply posted =
      Request(a.port(), "POST", "/api/v1/core/contexts/" + id + "/events", Auth("alice"),
              R"({"protocol":"agui","event":{"type":"TEXT_MESSAGE_END","messageId":"m1"}})");
  ASSERT_EQ(posted.status, 200) << posted.body;
  const std::string event_id = EventIdOf(posted);
  EXPECT_EQ(WaitEventIds(filtered, 1), std::vector<std::string>{event_id});
  const HttpReply one = Request(b.port(), "GET", "/api/v1/core/contexts/" + id, Auth("alice"));
  EXPECT_NE(one.body.find(R"("message_count":1)"), std::string::npos) << one.body;
  // Another user sees none of it on either node.
  EXPECT_EQ(Request(b.port(), "GET", "/api/v1/core/contexts/" + id, Auth("bob")).status, 404);
}

TEST_F(ClusterTest, NodesStartingTogetherOnAnEmptyDatabaseShareOneSchemaAndHistory) {
  std::vector<std::unique_ptr<HeraldProcess>> nodes(3);
  {
    std::vector<std::jthread> starters;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      starters.emplace_back([&, i] {
        try {
          nodes[i] = std::make_unique<HeraldProcess>(
              HERALD_BINARY, std::vector<std::string>{"--listen", "127.0.0.1:0", "--jwt-secret",
                                                      kSecret, "--store", url_, "--data-dir",
                                                      (data_dir_ / fmt::format("s{}", i)).string(),
                                                      "--log-level", "warn"});
        } catch (const std::exception& error) {
          ADD_FAILURE() << "node " << i << " did not start: " << error.what();
        }
      });
    }
  }
  for (const auto& node : nodes) ASSERT_NE(node, nullptr);
  std::set<std::uint32_t> histories;
  std::uint64_t last = 0;
  for (auto& node : nodes) {
    const auto id = ParseEventId(Publish(*node, "alice", "hello"));
    ASSERT_TRUE(id);
    histories.insert(id->history);
    EXPECT_EQ(id->sequence, last + 1);
    last = id->sequence;
  }
  EXPECT_EQ(histories.size(), 1u);
}

TEST_F(ClusterTest, UnreachableDatabaseAtStartIsAOneLineError) {
  // Nothing listens on port 1.
  EXPECT_THROW(HeraldProcess(HERALD_BINARY,
                             {"--listen", "127.0.0.1:0", "--jwt-secret", kSecret, "--store",
                              "postgresql://herald@127.0.0.1:1/herald", "--log-level", "warn"}),
               std::runtime_error);
}

}  // namespace
}  // namespace herald::testing
