// The publisher's test doubles: a store that numbers events in memory and can fail or hold a
// commit at a gate, a sink that keeps the batches, the completions collected with their thread,
// and the fixture (publisher_test.cpp, publisher_in_place_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hub/publisher.h"
#include "support/manual_clock.h"

namespace herald::hub::publisher_fakes {

using namespace std::chrono_literals;

// Every wait in this file is bounded by this; a test that hits it fails instead of hanging.
inline constexpr auto kWaitLimit = 5s;
inline const std::chrono::system_clock::time_point kNow{
    std::chrono::milliseconds{1'700'000'000'000}};

inline EventDraft Draft(std::string user, Protocol protocol, std::string type, std::string json,
                        std::optional<std::string> context = std::nullopt) {
  EventDraft draft;
  draft.user = UserId(std::move(user));
  draft.protocol = protocol;
  if (context) draft.context = ContextId(std::move(*context));
  draft.type = std::move(type);
  draft.json = std::move(json);
  return draft;
}

inline EventDraft Agui(std::string user, int n) {
  return Draft(
      std::move(user), Protocol::kAgui, "TEXT_MESSAGE_CONTENT",
      R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":")" + std::to_string(n) + R"("})");
}

// A store that numbers events per user in memory, and can fail or hold Append at a gate.
class FakeStore final : public store::EventStore {
 public:
  static constexpr std::uint32_t kHistory = 0x0000abcd;

  std::uint32_t History() const override { return kHistory; }
  // Off by default: the writer thread commits everything (what most tests here are about).
  bool QuickCommits() const override { return quick_commits_; }
  void SetQuickCommits(bool quick) { quick_commits_ = quick; }  // before the publisher is made

  // A group forwards to the store's own calls below.
  class Group final : public store::WriteGroup {
   public:
    explicit Group(FakeStore& store) : store_(store) {}
    Result<std::optional<store::ContextRecord>> FindContext(const store::ContextKey& key) override {
      return store_.FindContextIn(key);
    }
    Result<bool> TaskSeen(const store::ContextKey&, const std::string&) override {
      return Result<bool>(false);
    }
    // Only asked for under a cap on contexts, which these publishers do not have.
    Result<std::uint64_t> CountContexts(const UserId&) override {
      return store::StoreFailure("not used by these tests");
    }
    Result<std::optional<store::IdempotencyRecord>> FindIdempotencyKey(
        const std::string& key, std::chrono::system_clock::time_point now) override {
      return store_.FindKeyIn(key, now);
    }
    Result<std::vector<StoredEvent>> Commit(std::span<const EventDraft> drafts,
                                            std::span<const store::IdempotencyClaim> claims,
                                            std::span<const store::ContextWrite> contexts,
                                            std::chrono::system_clock::time_point now) override {
      return store_.CommitIn(drafts, claims, contexts, now);
    }

   private:
    FakeStore& store_;
  };

  // While another process "holds the write lock" (HoldForeignLock), BeginGroup waits for it and
  // TryBeginGroup gives up at once, as SqliteStore's do; each call records its thread.
  Result<std::unique_ptr<store::WriteGroup>> BeginGroup() override {
    std::unique_lock lock(mutex_);
    begin_threads_.push_back(std::this_thread::get_id());
    if (!changed_.wait_for(lock, kWaitLimit, [this] { return !foreign_lock_; })) {
      foreign_lock_timed_out_ = true;
    }
    return Result<std::unique_ptr<store::WriteGroup>>(std::make_unique<Group>(*this));
  }
  Result<std::unique_ptr<store::WriteGroup>> TryBeginGroup() override {
    std::lock_guard lock(mutex_);
    try_begin_threads_.push_back(std::this_thread::get_id());
    if (foreign_lock_) return Result<std::unique_ptr<store::WriteGroup>>(nullptr);
    return Result<std::unique_ptr<store::WriteGroup>>(std::make_unique<Group>(*this));
  }

  Result<std::vector<StoredEvent>> CommitIn(std::span<const EventDraft> drafts,
                                            std::span<const store::IdempotencyClaim> claims,
                                            std::span<const store::ContextWrite>,
                                            std::chrono::system_clock::time_point now) {
    std::unique_lock lock(mutex_);
    appends_.emplace_back(drafts.begin(), drafts.end());
    times_.push_back(now);
    if (gate_closed_) {
      blocked_ = true;
      changed_.notify_all();
      if (!changed_.wait_for(lock, kWaitLimit, [this] { return !gate_closed_; })) {
        gate_timed_out_ = true;
      }
      blocked_ = false;
    }
    if (fail_) return store::StoreFailure("disk on fire");
    std::vector<StoredEvent> stored;
    for (const EventDraft& d : drafts) {
      stored.push_back(StoredEvent{d.user, EventId{kHistory, ++sequences_[d.user]}, d.protocol,
                                   d.context, d.type, d.json, ToMillis(now)});
    }
    for (const store::IdempotencyClaim& claim : claims) {
      store::IdempotencyRecord record{claim.fingerprint, {}};
      for (std::size_t i : claim.drafts) record.event_ids.push_back(stored[i].id);
      keys_[claim.key] = std::move(record);
    }
    return Result<std::vector<StoredEvent>>(std::move(stored));
  }

  Result<std::optional<store::IdempotencyRecord>> FindKeyIn(const std::string& key,
                                                            std::chrono::system_clock::time_point) {
    std::lock_guard lock(mutex_);
    const auto it = keys_.find(key);
    if (it == keys_.end()) return Result<std::optional<store::IdempotencyRecord>>({});
    return Result<std::optional<store::IdempotencyRecord>>(it->second);
  }

  Result<store::ReplayPage> ReadAfter(const UserId&, std::uint64_t, const store::ReplayFilter&,
                                      std::size_t) override {
    return store::StoreFailure("not used by the publisher");
  }
  Result<store::UserRange> Range(const UserId&) override {
    return store::StoreFailure("not used by the publisher");
  }
  // Every context exists: these tests are about fan-out and completion; attribution and
  // statistics have tests of their own (contexts_test.cpp).
  Result<std::optional<store::ContextRecord>> FindContextIn(const store::ContextKey& key) {
    store::ContextRecord record;
    record.id = key.id;
    record.owner = key.user;
    return Result<std::optional<store::ContextRecord>>(std::move(record));
  }
  Result<store::ContextsView> ReadContexts(const UserId&, const store::ContextQuery&) override {
    return store::StoreFailure("not used by the publisher");
  }
  Result<std::size_t> Prune(const store::RetentionPolicy&, std::chrono::system_clock::time_point,
                            std::size_t) override {
    return Result<std::size_t>(0);
  }

  void SetFailing(bool fail) {
    std::lock_guard lock(mutex_);
    fail_ = fail;
  }
  void CloseGate() {
    std::lock_guard lock(mutex_);
    gate_closed_ = true;
  }
  void OpenGate() {
    {
      std::lock_guard lock(mutex_);
      gate_closed_ = false;
    }
    changed_.notify_all();
  }
  void HoldForeignLock() {
    std::lock_guard lock(mutex_);
    foreign_lock_ = true;
  }
  void ReleaseForeignLock() {
    {
      std::lock_guard lock(mutex_);
      foreign_lock_ = false;
    }
    changed_.notify_all();
  }
  std::vector<std::thread::id> begin_threads() const {
    std::lock_guard lock(mutex_);
    return begin_threads_;
  }
  std::vector<std::thread::id> try_begin_threads() const {
    std::lock_guard lock(mutex_);
    return try_begin_threads_;
  }
  bool foreign_lock_timed_out() const {
    std::lock_guard lock(mutex_);
    return foreign_lock_timed_out_;
  }
  // Waits until the writer is held inside Append.
  bool WaitUntilBlocked() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitLimit, [this] { return blocked_; });
  }

  std::vector<std::vector<EventDraft>> appends() const {
    std::lock_guard lock(mutex_);
    return appends_;
  }
  std::vector<std::chrono::system_clock::time_point> times() const {
    std::lock_guard lock(mutex_);
    return times_;
  }
  bool gate_timed_out() const {
    std::lock_guard lock(mutex_);
    return gate_timed_out_;
  }

 private:
  static std::int64_t ToMillis(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<EventDraft>> appends_;
  std::vector<std::chrono::system_clock::time_point> times_;
  std::map<UserId, std::uint64_t> sequences_;
  std::map<std::string, store::IdempotencyRecord> keys_;
  bool quick_commits_ = false;
  bool fail_ = false;
  bool gate_closed_ = false;
  bool blocked_ = false;
  bool gate_timed_out_ = false;
  bool foreign_lock_ = false;
  bool foreign_lock_timed_out_ = false;
  std::vector<std::thread::id> begin_threads_;
  std::vector<std::thread::id> try_begin_threads_;
};

class FakeSink final : public DeliverySink {
 public:
  void Deliver(std::shared_ptr<const DeliveryBatch> batch) override {
    std::lock_guard lock(mutex_);
    batches_.push_back(std::move(batch));
  }
  std::vector<std::shared_ptr<const DeliveryBatch>> batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return batches_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const DeliveryBatch>> batches_;
};

// Collects completions, which arrive on the committing thread (or the submitting one on rejection).
class Outcomes {
 public:
  struct Record {
    std::string name;
    PublishOutcome outcome;
    std::thread::id thread;
    std::size_t batches_delivered;  // how many batches the sink had when this completed
  };

  explicit Outcomes(const FakeSink& sink) : sink_(sink) {}

  Publisher::Completion For(std::string name) {
    return [this, name = std::move(name)](PublishOutcome outcome) {
      {
        std::lock_guard lock(mutex_);
        records_.push_back(
            Record{name, std::move(outcome), std::this_thread::get_id(), sink_.count()});
      }
      changed_.notify_all();
    };
  }

  bool WaitFor(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitLimit, [&] { return records_.size() >= n; });
  }

  std::vector<Record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return records_.size();
  }

 private:
  const FakeSink& sink_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Record> records_;
};

inline std::vector<std::string> Ids(const PublishOutcome& outcome) {
  std::vector<std::string> ids;
  if (!outcome) return ids;
  for (const Result<PublishedEvent>& e : outcome->events) {
    ids.push_back(FormatEventId(e ? e->id : EventId{}));
  }
  return ids;
}

inline std::vector<std::string> Jsons(const std::vector<EventDraft>& drafts) {
  std::vector<std::string> out;
  for (const EventDraft& d : drafts) out.push_back(d.json);
  return out;
}

class PublisherTest : public ::testing::Test {
 protected:
  std::unique_ptr<Publisher> MakePublisher(PublisherOptions options = {}) {
    return std::make_unique<Publisher>(store_, sink_, limiter_, metrics_, options, clock_);
  }

  // `threads` threads each submit `per_thread` one-event requests for a user of their own, then
  // every outcome is checked: none failed, and each user's events are numbered in the order its
  // thread submitted them.
  void SubmitFromThreadsAndExpectEachUsersOrder(Publisher& publisher, int threads, int per_thread) {
    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t) {
      submitters.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          publisher.Submit({Agui("user-" + std::to_string(t), i)},
                           outcomes_.For(std::to_string(t) + ":" + std::to_string(i)));
        }
      });
    }
    for (std::thread& t : submitters) t.join();
    ASSERT_TRUE(outcomes_.WaitFor(static_cast<std::size_t>(threads * per_thread)));
    std::map<std::string, std::uint64_t> last;
    for (const auto& r : outcomes_.records()) {
      ASSERT_FALSE(r.outcome.has_error()) << r.name;
      const std::string thread = r.name.substr(0, r.name.find(':'));
      const std::uint64_t sequence = r.outcome->events.at(0)->id.sequence;
      EXPECT_EQ(sequence, last[thread] + 1) << r.name;
      last[thread] = sequence;
    }
    EXPECT_EQ(last.size(), static_cast<std::size_t>(threads));
  }

  herald::testing::ManualClock clock_{kNow};
  FakeStore store_;
  FakeSink sink_;
  ConnectionLimiter limiter_{10};
  Metrics metrics_;
  Outcomes outcomes_{sink_};
};

}  // namespace herald::hub::publisher_fakes
