// Shared helpers of the durable-event loopback tests (spec §1.2, §4): a temporary SQLite file,
// frames as (id, payload) pairs, and reading many frames off a stream.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/event_id.h"
#include "http/loopback_support.h"

namespace herald::testing {

// A fresh directory under the system temp directory, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::temp_directory_path() /
        fmt::format("herald-loopback-{}-{}-{:08x}", ::getpid(), counter++, std::random_device{}());
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string StoreUrl() const { return "sqlite:" + (path_ / "h.db").string(); }

 private:
  std::filesystem::path path_;
};

// TestHub options on a SQLite store in `dir`.
inline TestHubOptions SqliteHub(const ScratchDir& dir) {
  TestHubOptions options;
  options.store_url = dir.StoreUrl();
  return options;
}

inline std::uint64_t SequenceOf(const std::string& id) {
  const auto parsed = ParseEventId(id);
  return parsed ? parsed->sequence : 0;
}

inline Headers WithLastEventId(Headers headers, const std::string& id) {
  headers.emplace_back("Last-Event-ID", id);
  return headers;
}

// Reads complete frames until `count` arrived, EOF or `timeout`.
inline std::vector<std::string> TakeFrames(FrameReader& reader, std::size_t count,
                                           std::chrono::milliseconds timeout = 10s) {
  std::vector<std::string> frames;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (frames.size() < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto frame = reader.Next(left);
    if (!frame) break;
    frames.push_back(std::move(*frame));
  }
  return frames;
}

// Every stored event of `user` (all streams), paging through ReadAfter.
inline std::vector<StoredEvent> ReadAllStored(store::EventStore& store, const std::string& user,
                                              std::uint64_t after = 0) {
  std::vector<StoredEvent> all;
  for (int page = 0; page < 10'000; ++page) {
    auto read = store.ReadAfter(UserId(user), after, store::ReplayFilter{}, 1'000);
    if (!read.has_value()) break;
    for (auto& e : read->events) {
      after = e.id.sequence;
      all.push_back(std::move(e));
    }
    if (!read->more || read->events.empty()) break;
  }
  return all;
}

}  // namespace herald::testing
