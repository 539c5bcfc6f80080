// A full disk under the SQLite store (issue 14): publishes are refused with 503 and Retry-After,
// every acknowledged event stays readable, and publishing resumes once space returns. Needs root
// (to mount a small tmpfs as the data directory); skipped otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "http/store_loopback_support.h"

namespace herald::testing {
namespace {

// A tmpfs of `bytes` mounted on a fresh directory, unmounted (and removed) at the end.
class SmallDisk {
 public:
  explicit SmallDisk(std::size_t bytes) {
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return mounted_; }
  const ScratchDir& dir() const { return dir_; }

 private:
  ScratchDir dir_;
  bool mounted_ = false;
};

// Writes `bytes` of zeros to `path` (stops early when the disk is full).
void Fill(const std::filesystem::path& path, std::size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  const std::string block(64 * 1024, '\0');
  for (std::size_t written = 0; written < bytes && out; written += block.size()) out << block;
}

TEST(DiskFullLoopbackTest,
     PublishesGet503WithRetryAfterNothingAcknowledgedIsLostAndSpaceBringsThemBack) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  SmallDisk disk(4 * 1024 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "mount(tmpfs) failed";
  // Room for the schema and some events; the filler gives the rest back later.
  const auto filler = disk.dir().path() / "filler";
  Fill(filler, 2 * 1024 * 1024);
  TestHub hub(SqliteHub(disk.dir()));

  const std::string delta(2'000, 'x');
  std::vector<std::string> acknowledged;
  HttpReply refused;
  for (int i = 0; i < 2'000 && refused.status == 0; ++i) {
    const HttpReply reply =
        PublishAgui(hub.port(), "alice", AguiText("alice", "m" + std::to_string(i), delta));
    if (reply.status == 200) {
      acknowledged.push_back(EventIdOf(reply));
    } else {
      refused = reply;
    }
  }
  ASSERT_EQ(refused.status, 503) << refused.body << " after " << acknowledged.size() << " events";
  EXPECT_GT(acknowledged.size(), 50u) << "the disk filled up with events, not at start";
  EXPECT_EQ(refused.Header("retry-after"), "1");
  EXPECT_EQ(refused.body.rfind(R"({"code":"service_unavailable",)", 0), 0u) << refused.body;

  // Every acknowledged event is stored, in order.
  const auto stored = [&hub] {
    std::vector<std::string> ids;
    auto page = hub.store().ReadAfter(UserId("alice"), 0, {}, 10'000);
    if (page.has_value()) {
      for (const StoredEvent& e : page->events) ids.push_back(FormatEventId(e.id));
    }
    return ids;
  };
  EXPECT_EQ(stored(), acknowledged);

  // Space comes back: publishing resumes without a restart.
  std::filesystem::remove(filler);
  HttpReply again;
  ASSERT_TRUE(WaitUntil([&] {
    again = PublishAgui(hub.port(), "alice", AguiText("alice", "after", "y"));
    return again.status == 200;
  })) << again.status
      << " " << again.body;
  acknowledged.push_back(EventIdOf(again));
  EXPECT_EQ(stored(), acknowledged);
}

}  // namespace
}  // namespace herald::testing
