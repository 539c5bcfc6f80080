// Helpers shared by the store tests: temporary directories, drafts, fixed times.
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
#include <utility>
#include <vector>

#include "core/event.h"
#include "store/event_store.h"

namespace herald::store::testing {

// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() / fmt::format("herald-store-test-{}-{}-{:08x}",
                                                                 ::getpid(), counter++,
                                                                 std::random_device{}());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A fixed instant, so that tests control the store's notion of "now".
inline const std::chrono::system_clock::time_point kT0{
    std::chrono::milliseconds{1'700'000'000'000}};

// A UserRange as {first, last}, comparable and printable in expectations.
using RangePair = std::pair<std::uint64_t, std::uint64_t>;

inline EventDraft Draft(std::string user, Protocol protocol = Protocol::kAgui,
                        std::optional<std::string> context = std::nullopt,
                        std::string type = "CUSTOM") {
  static std::atomic<int> counter{0};
  EventDraft draft;
  draft.user = UserId(std::move(user));
  draft.protocol = protocol;
  if (context) draft.context = ContextId(*context);
  draft.json = fmt::format(R"({{"type":"{}","n":{}}})", type, counter++);
  draft.type = std::move(type);
  return draft;
}

inline std::vector<std::uint64_t> Sequences(const std::vector<StoredEvent>& events) {
  std::vector<std::uint64_t> sequences;
  for (const StoredEvent& event : events) sequences.push_back(event.id.sequence);
  return sequences;
}

// Appends `count` AG-UI events for `user` at `now`, one group; returns their sequences.
inline std::vector<std::uint64_t> AppendMany(EventStore& store, const std::string& user, int count,
                                             std::chrono::system_clock::time_point now = kT0) {
  std::vector<EventDraft> drafts;
  for (int i = 0; i < count; ++i) drafts.push_back(Draft(user));
  auto stored = store.Append(drafts, now);
  if (!stored.has_value()) return {};
  return Sequences(*stored);
}

// A context row as a group commit would write it.
inline ContextRecord Context(std::string id, std::string owner, std::int64_t updated_at_ms,
                             std::uint64_t tasks = 0, std::uint64_t messages = 0) {
  ContextRecord record;
  record.id = ContextId(std::move(id));
  record.owner = UserId(std::move(owner));
  record.name = "name of " + record.id.str();
  record.kind = "conversation";
  record.created_at_ms = 1'000;
  record.updated_at_ms = updated_at_ms;
  record.task_count = tasks;
  record.message_count = messages;
  if (messages > 0) record.last_message_at_ms = updated_at_ms;
  return record;
}

inline ContextWrite Upsert(ContextRecord record, std::vector<std::string> new_tasks = {},
                           bool reset_tasks = false) {
  const ContextKey key = record.key();
  return ContextWrite{key, std::move(record), reset_tasks, std::move(new_tasks)};
}

// Context `id` of `user`.
inline ContextKey Key(std::string id, std::string user = "alice") {
  return ContextKey{UserId(std::move(user)), ContextId(std::move(id))};
}

inline ContextWrite Delete(std::string id, std::string user = "alice") {
  return ContextWrite{Key(std::move(id), std::move(user)), std::nullopt, false, {}};
}

}  // namespace herald::store::testing
