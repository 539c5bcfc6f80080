// Back-pressure on the wire (spec §1.2, §6): with a tiny publisher queue, concurrent publishers
// get 503 + Retry-After, and every acknowledged event is stored and delivered.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "http/store_loopback_support.h"

namespace herald::testing {
namespace {

TEST(BackpressureLoopbackTest, FullQueueAnswers503AndEveryAcknowledgedEventIsStoredAndDelivered) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  ScratchDir dir;
  TestHubOptions options = SqliteHub(dir);
  options.hub.publisher.max_pending_events = 1;
  TestHub hub(options);

  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
  ASSERT_FALSE(OpeningCursor(agui.body()).empty()) << agui.body();

  // Read concurrently (an idle reader would be closed as a slow consumer) until the end marker.
  std::vector<std::string> delivered;
  bool ended = false;
  std::jthread reader_thread([&] {
    FrameReader reader(agui);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto frame = reader.Next(20s);
      if (!frame) return;
      if (IsOpening(*frame)) continue;
      if (frame->find("\"delta\":\"end\"") != std::string::npos) {
        ended = true;
        return;
      }
      delivered.push_back(FrameField(*frame, "id"));
    }
  });

  std::mutex mutex;
  std::set<std::string> acknowledged;
  int rejected = 0;
  int rounds = 0;
  // Rounds of concurrent publishing until some were refused (at most 10 rounds).
  while (rejected == 0 && rounds < 10) {
    ++rounds;
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        HttpClient client(hub.port());
        for (int i = 0; i < kPerThread; ++i) {
          const HttpReply reply =
              client.Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                             AguiText("alice", "m1", std::to_string(t) + "-" + std::to_string(i)));
          std::lock_guard lock(mutex);
          if (reply.status == 200) {
            acknowledged.insert(EventIdOf(reply));
          } else {
            ++rejected;
            EXPECT_EQ(reply.status, 503) << reply.body;
            EXPECT_EQ(reply.body.rfind(R"({"code":"service_unavailable")", 0), 0u) << reply.body;
            EXPECT_FALSE(reply.Header("retry-after").empty());
            EXPECT_GE(std::atoi(reply.Header("retry-after").c_str()), 1);
          }
        }
      });
    }
  }
  EXPECT_GT(rejected, 0) << "no 503 in " << rounds << " rounds";
  ASSERT_FALSE(acknowledged.empty());
  EXPECT_EQ(acknowledged.size() + static_cast<std::size_t>(rejected),
            static_cast<std::size_t>(rounds * kThreads * kPerThread));

  // Stored: exactly the acknowledged ones (a refused publish stores nothing).
  const auto stored = ReadAllStored(hub.store(), "alice");
  std::set<std::string> stored_ids;
  for (const auto& e : stored) stored_ids.insert(FormatEventId(e.id));
  EXPECT_EQ(stored_ids, acknowledged);

  // Delivered: every acknowledged one, in sequence order, then the end marker.
  const HttpReply end = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "end"));
  ASSERT_EQ(end.status, 200) << end.body;
  reader_thread.join();
  EXPECT_TRUE(ended);
  EXPECT_EQ(std::set<std::string>(delivered.begin(), delivered.end()), acknowledged);
  ASSERT_EQ(delivered.size(), acknowledged.size());
  for (std::size_t i = 1; i < delivered.size(); ++i) {
    EXPECT_LT(SequenceOf(delivered[i - 1]), SequenceOf(delivered[i]));
  }
}

// The bound counts work accepted but not yet committed: a lone publisher that sends its next
// request as soon as it has the answer to the previous one is never refused.
TEST(BackpressureLoopbackTest, SequentialPublisherIsNeverRefusedByItsOwnCommittedRequests) {
  ScratchDir dir;
  TestHubOptions options = SqliteHub(dir);
  options.hub.publisher.max_pending_events = 1;
  TestHub hub(options);
  HttpClient client(hub.port());
  for (int i = 0; i < 2'000; ++i) {
    const HttpReply reply = client.Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                                           AguiText("alice", "m1", std::to_string(i)));
    ASSERT_EQ(reply.status, 200) << "request " << i << ": " << reply.body;
  }
  EXPECT_EQ(hub.store().Range(UserId("alice"))->last, 2'000u);
}

// Another process holding the SQLite write lock (an sqlite3 shell, a backup) holds publishes up,
// never the I/O thread that read them: with the publisher's one place taken by a publish that
// waits for the lock, the next publish read by the same (only) I/O thread is refused at once.
TEST(BackpressureLoopbackTest, AForeignWriteLockHoldsAPublishButTheIoThreadAnswersTheNextAtOnce) {
  ScratchDir dir;
  TestHubOptions options = SqliteHub(dir);
  options.hub.threads = 1;
  options.hub.publisher.max_pending_events = 1;
  TestHub hub(options);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "h.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  std::mutex mutex;
  std::condition_variable answered;
  std::vector<int> statuses;
  {
    std::vector<std::jthread> publishers;
    for (int i = 0; i < 2; ++i) {
      publishers.emplace_back([&, i] {
        const HttpReply reply =
            PublishAgui(hub.port(), "alice", AguiText("alice", "m1", std::to_string(i)));
        std::lock_guard lock(mutex);
        statuses.push_back(reply.status);
        answered.notify_all();
      });
    }
    {
      std::unique_lock lock(mutex);
      // The store's busy timeout is 5 s: an I/O thread waiting for the lock answers nothing
      // before then.
      ASSERT_TRUE(answered.wait_for(lock, 4s, [&] { return !statuses.empty(); }));
      EXPECT_EQ(statuses[0], 503) << "the queue's one place is taken by the waiting publish";
    }
    ASSERT_EQ(sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  sqlite3_close(raw);
  EXPECT_EQ(std::multiset<int>(statuses.begin(), statuses.end()), (std::multiset<int>{200, 503}));
  EXPECT_EQ(ReadAllStored(hub.store(), "alice").size(), 1u);
}

}  // namespace
}  // namespace herald::testing
