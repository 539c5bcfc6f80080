// Crash safety with a real process (spec §1.2 durable acknowledgement): `herald serve` is killed
// with SIGKILL in the middle of a publish storm; every event acknowledged with 200 is in the
// store after the restart, and new events continue the sequence.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "auth/minter.h"
#include "core/event_id.h"
#include "store/open_store.h"
#include "support/herald_process.h"
#include "support/test_client.h"

namespace herald::testing {
namespace {

constexpr char kSecret[] = "crash-test-secret-crash-test-secret";

class ScratchDir {
 public:
  ScratchDir() {
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("herald-crash-test-{}-{:08x}", ::getpid(), std::random_device{}());
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// `herald serve` on `data_dir`.
class Server : public HeraldProcess {
 public:
  explicit Server(const std::filesystem::path& data_dir)
      : HeraldProcess(HERALD_BINARY, {"--listen", "127.0.0.1:0", "--jwt-secret", kSecret,
                                      "--data-dir", data_dir.string(), "--log-level", "warn"}) {}
};

std::vector<std::pair<std::string, std::string>> PublishHeaders() {
  return {{"Authorization", "Bearer " + auth::MintHs256(kSecret, "alice", "", std::chrono::hours(1),
                                                        std::chrono::system_clock::now())},
          {"Content-Type", "application/json"}};
}

std::string EventIdOf(const HttpReply& reply) {
  static const std::regex kEventId(R"re("event_id":"([^"]+)")re");
  std::smatch match;
  return std::regex_search(reply.body, match, kEventId) ? match[1].str() : std::string();
}

std::string Body(int thread, int i) {
  return fmt::format(
      R"({{"user_id":"alice","type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"{}-{}"}})",
      thread, i);
}

// The data directory and the database hold users' events: the hub's user alone may read them.
TEST(ServeTest, TheDataDirectoryAndTheDatabaseAreReadableByTheHubsUserOnly) {
  ScratchDir scratch;
  const std::filesystem::path data = scratch.path() / "data";
  {
    Server server(data);
    HttpClient client(server.port());
    ASSERT_EQ(client.Request("POST", "/api/v1/webhook/agui", PublishHeaders(), Body(0, 0)).status,
              200);
    namespace fs = std::filesystem;
    EXPECT_EQ(fs::status(data).permissions() & fs::perms::all, fs::perms::owner_all);
    for (const char* file : {"herald.db", "herald.db-wal"}) {
      ASSERT_TRUE(fs::exists(data / file)) << file;
      EXPECT_EQ(fs::status(data / file).permissions() & fs::perms::all,
                fs::perms::owner_read | fs::perms::owner_write)
          << file;
    }
  }
}

TEST(CrashTest, EveryAcknowledgedEventSurvivesKillNineAndSequencesContinue) {
  constexpr int kThreads = 3;
  constexpr int kMaxPerThread = 20'000;
  constexpr std::size_t kKillAfter = 1'500;
  ScratchDir dir;
  std::set<std::string> acknowledged;
  std::set<std::string> bodies;  // the deltas of the acknowledged events
  {
    Server server(dir.path());
    const auto headers = PublishHeaders();
    std::mutex mutex;
    std::atomic<std::size_t> count{0};
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          HttpClient client(server.port());
          for (int i = 0; i < kMaxPerThread; ++i) {
            const HttpReply reply =
                client.Request("POST", "/api/v1/webhook/agui", headers, Body(t, i), 5s);
            if (reply.status != 200) continue;
            std::lock_guard lock(mutex);
            acknowledged.insert(EventIdOf(reply));
            bodies.insert(fmt::format("{}-{}", t, i));
            count.fetch_add(1);
          }
        } catch (const std::exception&) {
          // The server died under us: expected once it is killed.
        }
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (count.load() < kKillAfter && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling a counter, bounded
    }
    ASSERT_GE(count.load(), kKillAfter);
    const int status = server.Kill(SIGKILL);  // mid-storm: the threads are still publishing
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    threads.clear();  // joins: every thread stops at its first failed request
  }
  ASSERT_GE(acknowledged.size(), kKillAfter);

  // Every acknowledged event is in the file, with its body.
  std::uint64_t last = 0;
  {
    store::StoreOptions options;
    options.url = "sqlite:" + (dir.path() / "herald.db").string();
    auto store = store::OpenStore(options);
    std::set<std::string> stored, stored_bodies;
    std::uint64_t after = 0;
    for (int page = 0; page < 1'000; ++page) {
      auto read = store->ReadAfter(UserId("alice"), after, store::ReplayFilter{}, 1'000);
      ASSERT_TRUE(read.has_value()) << read.error().message;
      for (const StoredEvent& e : read->events) {
        EXPECT_EQ(e.id.sequence, after + 1);  // no gap
        after = e.id.sequence;
        stored.insert(FormatEventId(e.id));
        static const std::regex kDelta(R"re("delta":"([^"]+)")re");
        std::smatch match;
        if (std::regex_search(e.json, match, kDelta)) stored_bodies.insert(match[1].str());
      }
      if (!read->more || read->events.empty()) break;
    }
    last = after;
    for (const std::string& id : acknowledged) EXPECT_TRUE(stored.contains(id)) << id;
    for (const std::string& b : bodies) EXPECT_TRUE(stored_bodies.contains(b)) << b;
    EXPECT_GE(stored.size(), acknowledged.size());
    EXPECT_EQ(store->Range(UserId("alice"))->last, last);
  }

  // Restarted on the same data dir: the next event continues the sequence.
  Server server(dir.path());
  const HttpReply reply =
      Request(server.port(), "POST", "/api/v1/webhook/agui", PublishHeaders(), Body(9, 0));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto id = ParseEventId(EventIdOf(reply));
  ASSERT_TRUE(id);
  EXPECT_EQ(id->sequence, last + 1);
  // The same history: ids from before the crash stay resumable.
  const auto before = ParseEventId(*acknowledged.begin());
  ASSERT_TRUE(before);
  EXPECT_EQ(id->history, before->history);
  const int status = server.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status)) << status;
}

}  // namespace
}  // namespace herald::testing
