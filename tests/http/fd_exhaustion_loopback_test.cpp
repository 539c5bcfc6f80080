// File descriptors run out (issue 14): the hub cannot accept new connections, yet its open
// streams and keep-alive connections go on being served, and once descriptors are free again
// it accepts as before. The process's own descriptor limit is lowered for the test (hub and
// clients share it) and restored at the end.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "http/loopback_support.h"

// The sanitizer runtimes need descriptors of their own while the process has none left (UBSan's
// vptr check probes memory through a pipe and reports a false "invalid vptr" when it cannot open
// one), so the test runs in the release build only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HERALD_SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HERALD_SANITIZED_BUILD 1
#endif
#endif

namespace herald::testing {
namespace {

std::size_t OpenDescriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

// RLIMIT_NOFILE's soft limit, lowered while this lives.
class DescriptorLimit {
 public:
  explicit DescriptorLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    set_ = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~DescriptorLimit() {
    if (set_) ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  DescriptorLimit(const DescriptorLimit&) = delete;
  DescriptorLimit& operator=(const DescriptorLimit&) = delete;
  bool set() const { return set_; }

 private:
  rlimit saved_{};
  bool set_ = false;
};

// Connects to the hub until no descriptor is left (bounded); returns the sockets.
std::vector<int> ExhaustDescriptors(unsigned short port) {
  std::vector<int> sockets;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 1'000; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;  // EMFILE: the table is full
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      break;
    }
    sockets.push_back(fd);
  }
  return sockets;
}

TEST(FdExhaustionLoopbackTest, OpenStreamsAndKeepAliveConnectionsAreServedAndAcceptingResumes) {
#ifdef HERALD_SANITIZED_BUILD
  GTEST_SKIP() << "sanitizer runtimes need descriptors of their own; runs in the release build";
#endif
  TestHub hub;
  SseStream stream(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_EQ(stream.status(), 200);
  HttpClient publisher(hub.port());  // keep-alive, opened while descriptors were plenty
  ASSERT_EQ(
      publisher.Request("POST", kAguiWebhook, JsonAuthAs("alice"), AguiText("alice", "m0", "x"))
          .status,
      200);

  std::vector<int> fillers;
  {
    DescriptorLimit limit(OpenDescriptors() + 40);
    ASSERT_TRUE(limit.set());
    fillers = ExhaustDescriptors(hub.port());
    ASSERT_FALSE(fillers.empty());
    // The hub accepted some of them, and now cannot accept more (they wait in its backlog).
    ASSERT_TRUE(WaitUntil([&] {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0) fillers.push_back(fd);  // one the hub gave back meanwhile: take it too
      return fd < 0 && errno == EMFILE;
    }));

    const HttpReply reply =
        publisher.Request("POST", kAguiWebhook, JsonAuthAs("alice"), AguiText("alice", "m1", "y"));
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(stream.WaitFrameContaining(R"("messageId":"m1")")) << "the open stream is served";
  }
  for (int fd : fillers) ::close(fd);

  // Descriptors are back: new connections are accepted and answered.
  EXPECT_TRUE(WaitUntil([&] { return Request(hub.port(), "GET", "/health").status == 200; }));
  const HttpReply after = PublishAgui(hub.port(), "alice", AguiText("alice", "m2", "z"));
  EXPECT_EQ(after.status, 200) << after.body;
  EXPECT_TRUE(stream.WaitFrameContaining(R"("messageId":"m2")"));
}

}  // namespace
}  // namespace herald::testing
