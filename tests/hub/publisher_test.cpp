#include "hub/publisher.h"

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

#include "support/manual_clock.h"

namespace herald::hub {
namespace {

using namespace std::chrono_literals;

// Every wait in this file is bounded by this; a test that hits it fails instead of hanging.
constexpr auto kWaitLimit = 5s;
const std::chrono::system_clock::time_point kNow{std::chrono::milliseconds{1'700'000'000'000}};

EventDraft Draft(std::string user, Protocol protocol, std::string type, std::string json,
                 std::optional<std::string> context = std::nullopt) {
  EventDraft draft;
  draft.user = UserId(std::move(user));
  draft.protocol = protocol;
  if (context) draft.context = ContextId(std::move(*context));
  draft.type = std::move(type);
  draft.json = std::move(json);
  return draft;
}

EventDraft Agui(std::string user, int n) {
  return Draft(
      std::move(user), Protocol::kAgui, "TEXT_MESSAGE_CONTENT",
      R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":")" + std::to_string(n) + R"("})");
}

// A store that numbers events per user in memory, and can fail or hold Append at a gate.
class FakeStore final : public store::EventStore {
 public:
  static constexpr std::uint32_t kHistory = 0x0000abcd;

  std::uint32_t History() const override { return kHistory; }

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

  Result<std::unique_ptr<store::WriteGroup>> BeginGroup() override {
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
  bool fail_ = false;
  bool gate_closed_ = false;
  bool blocked_ = false;
  bool gate_timed_out_ = false;
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

// Collects completions, which arrive on the writer thread (or the submitting one on rejection).
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

std::vector<std::string> Ids(const PublishOutcome& outcome) {
  std::vector<std::string> ids;
  if (!outcome) return ids;
  for (const Result<PublishedEvent>& e : outcome->events) {
    ids.push_back(FormatEventId(e ? e->id : EventId{}));
  }
  return ids;
}

std::vector<std::string> Jsons(const std::vector<EventDraft>& drafts) {
  std::vector<std::string> out;
  for (const EventDraft& d : drafts) out.push_back(d.json);
  return out;
}

class PublisherTest : public ::testing::Test {
 protected:
  std::unique_ptr<Publisher> MakePublisher(PublisherOptions options = {}) {
    return std::make_unique<Publisher>(store_, sink_, limiter_, metrics_, options, clock_);
  }

  herald::testing::ManualClock clock_{kNow};
  FakeStore store_;
  FakeSink sink_;
  ConnectionLimiter limiter_{10};
  Metrics metrics_;
  Outcomes outcomes_{sink_};
};

TEST_F(PublisherTest, RequestsQueuedTogetherAreStoredInOneAppendInOrder) {
  auto publisher = MakePublisher();
  const std::vector<EventDraft> a = {Agui("alice", 1)};
  const std::vector<EventDraft> b = {Agui("bob", 2), Agui("alice", 3)};
  const std::vector<EventDraft> c = {Agui("alice", 4)};
  publisher->Submit(a, outcomes_.For("a"));
  publisher->Submit(b, outcomes_.For("b"));
  publisher->Submit(c, outcomes_.For("c"));
  publisher->Start();
  ASSERT_TRUE(outcomes_.WaitFor(3));

  const auto appends = store_.appends();
  ASSERT_EQ(appends.size(), 1u);
  EXPECT_EQ(Jsons(appends[0]),
            (std::vector<std::string>{a[0].json, b[0].json, b[1].json, c[0].json}));
  EXPECT_EQ(appends[0][1].user, UserId("bob"));
  EXPECT_EQ(store_.times(), (std::vector<std::chrono::system_clock::time_point>{kNow}));
}

TEST_F(PublisherTest, EachRequestGetsItsOwnOutcomeInOrderOnTheWriterThread) {
  auto publisher = MakePublisher();
  publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));
  publisher->Submit({Agui("bob", 2), Agui("alice", 3)}, outcomes_.For("b"));
  publisher->Submit({Agui("alice", 4)}, outcomes_.For("c"));
  publisher->Start();
  ASSERT_TRUE(outcomes_.WaitFor(3));

  const auto records = outcomes_.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].name, "a");
  EXPECT_EQ(records[1].name, "b");
  EXPECT_EQ(records[2].name, "c");
  EXPECT_EQ(Ids(records[0].outcome), (std::vector<std::string>{"0000abcd-1"}));
  EXPECT_EQ(Ids(records[1].outcome), (std::vector<std::string>{"0000abcd-1", "0000abcd-2"}));
  EXPECT_EQ(Ids(records[2].outcome), (std::vector<std::string>{"0000abcd-3"}));
  for (const auto& r : records) {
    EXPECT_FALSE(r.outcome.has_error()) << r.name;
    EXPECT_NE(r.thread, std::this_thread::get_id()) << r.name;
    EXPECT_EQ(r.batches_delivered, 1u) << r.name << ": acknowledged only after the fan-out";
  }
}

TEST_F(PublisherTest, ConnectionCountIsThePrimaryStreamPlusContexts) {
  std::vector<ConnectionLimiter::Lease> leases;
  const auto hold = [&](const char* user, Stream stream, int n) {
    for (int i = 0; i < n; ++i) leases.push_back(limiter_.TryAcquire(UserId(user), stream));
  };
  hold("alice", Stream::kAgui, 2);
  hold("alice", Stream::kA2a, 3);
  hold("alice", Stream::kContexts, 1);
  hold("bob", Stream::kContexts, 4);

  auto publisher = MakePublisher();
  publisher->Submit({Draft("alice", Protocol::kAgui, "CUSTOM", "{}"),
                     Draft("alice", Protocol::kA2a, "AGENT_MESSAGE", "{}"),
                     Draft("alice", Protocol::kSystem, "CONTEXT_CREATED", "{}"),
                     Draft("bob", Protocol::kAgui, "CUSTOM", "{}"),
                     Draft("carol", Protocol::kA2a, "AGENT_MESSAGE", "{}")},
                    outcomes_.For("all"));
  publisher->Start();
  ASSERT_TRUE(outcomes_.WaitFor(1));

  const PublishOutcome outcome = outcomes_.records()[0].outcome;
  ASSERT_EQ(outcome->events.size(), 5u);
  EXPECT_EQ(outcome->events[0]->connection_count, 3u);  // alice agui 2 + contexts 1
  EXPECT_EQ(outcome->events[1]->connection_count, 4u);  // alice a2a 3 + contexts 1
  EXPECT_EQ(outcome->events[2]->connection_count, 1u);  // system: contexts only
  EXPECT_EQ(outcome->events[3]->connection_count, 4u);  // bob: contexts only
  EXPECT_EQ(outcome->events[4]->connection_count, 0u);  // carol: nobody listening
}

TEST_F(PublisherTest, FanOutBatchCarriesBareAndWrappedFramesSerialisedOnce) {
  const std::string agui = R"({"type":"RUN_STARTED","threadId":"c1","runId":"r1","timestamp":1})";
  const std::string a2a = R"({"type":"AGENT_MESSAGE","taskId":"t","contextId":"c2"})";
  const std::string system = R"({"type":"CONTEXT_DELETED","contextId":"c3"})";
  auto publisher = MakePublisher();
  publisher->Start();
  publisher->Submit({Draft("alice", Protocol::kAgui, "RUN_STARTED", agui, "c1"),
                     Draft("alice", Protocol::kA2a, "AGENT_MESSAGE", a2a, "c2"),
                     Draft("bob", Protocol::kSystem, "CONTEXT_DELETED", system)},
                    outcomes_.For("x"));
  ASSERT_TRUE(outcomes_.WaitFor(1));

  const auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 1u);
  const DeliveryBatch& batch = *batches[0];
  ASSERT_EQ(batch.size(), 3u);

  EXPECT_EQ(batch[0].user, UserId("alice"));
  EXPECT_EQ(batch[0].protocol, Protocol::kAgui);
  EXPECT_EQ(batch[0].context, ContextId("c1"));
  EXPECT_EQ(batch[0].sequence, 1u);
  ASSERT_NE(batch[0].bare, nullptr);
  EXPECT_EQ(*batch[0].bare, "id: 0000abcd-1\ndata: " + agui + "\n\n");
  EXPECT_EQ(*batch[0].wrapped,
            "id: 0000abcd-1\ndata: {\"protocol\":\"agui\",\"event\":" + agui + "}\n\n");

  EXPECT_EQ(batch[1].protocol, Protocol::kA2a);
  EXPECT_EQ(batch[1].context, ContextId("c2"));
  EXPECT_EQ(batch[1].sequence, 2u);
  ASSERT_NE(batch[1].bare, nullptr);
  EXPECT_EQ(*batch[1].bare, "id: 0000abcd-2\ndata: " + a2a + "\n\n");
  EXPECT_EQ(*batch[1].wrapped,
            "id: 0000abcd-2\ndata: {\"protocol\":\"a2a\",\"event\":" + a2a + "}\n\n");

  EXPECT_EQ(batch[2].user, UserId("bob"));
  EXPECT_EQ(batch[2].protocol, Protocol::kSystem);
  EXPECT_EQ(batch[2].context, std::nullopt);
  EXPECT_EQ(batch[2].sequence, 1u);
  EXPECT_EQ(batch[2].bare, nullptr) << "system events have no protocol stream";
  ASSERT_NE(batch[2].wrapped, nullptr);
  EXPECT_EQ(*batch[2].wrapped,
            "id: 0000abcd-1\ndata: {\"protocol\":\"system\",\"event\":" + system + "}\n\n");
}

TEST_F(PublisherTest, StoredEventsAreCountedInMetrics) {
  auto publisher = MakePublisher();
  publisher->Start();
  publisher->Submit({Draft("alice", Protocol::kAgui, "RUN_STARTED", "{}"),
                     Draft("alice", Protocol::kAgui, "RUN_STARTED", "{}")},
                    outcomes_.For("x"));
  ASSERT_TRUE(outcomes_.WaitFor(1));
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_NE(text.find("herald_events_published_total{protocol=\"agui\",type=\"RUN_STARTED\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("herald_publish_latency_seconds_count 1\n"), std::string::npos) << text;
}

TEST_F(PublisherTest, StoreFailureFailsEveryRequestOfTheGroupAndDeliversNothing) {
  store_.SetFailing(true);
  auto publisher = MakePublisher();
  publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));
  publisher->Submit({Agui("bob", 2), Agui("bob", 3)}, outcomes_.For("b"));
  publisher->Start();
  ASSERT_TRUE(outcomes_.WaitFor(2));

  for (const auto& r : outcomes_.records()) {
    ASSERT_TRUE(r.outcome.has_error()) << r.name;
    EXPECT_EQ(r.outcome.error().code, ErrorCode::kServiceUnavailable) << r.name;
    EXPECT_GT(r.outcome.error().retry_after.count(), 0) << r.name;
    EXPECT_EQ(r.outcome.error().message.find("disk on fire"), std::string::npos)
        << "store details stay in the logs";
    EXPECT_FALSE(r.outcome.has_value()) << r.name;  // so no events
  }
  EXPECT_EQ(sink_.count(), 0u);
  EXPECT_NE(metrics_.RenderPrometheus().find("herald_store_errors_total 1\n"), std::string::npos);

  // The failed work no longer counts as pending: the next publish goes through.
  store_.SetFailing(false);
  publisher->Submit({Agui("alice", 4)}, outcomes_.For("after"));
  ASSERT_TRUE(outcomes_.WaitFor(3));
  const auto records = outcomes_.records();
  EXPECT_FALSE(records[2].outcome.has_error());
  EXPECT_EQ(sink_.count(), 1u);
}

TEST_F(PublisherTest, BackPressureRefusesAtOnceWhileTheWriterIsBehind) {
  store_.CloseGate();
  PublisherOptions options;
  options.max_pending_events = 2;
  auto publisher = MakePublisher(options);
  publisher->Start();

  publisher->Submit({Agui("alice", 1)}, outcomes_.For("first"));
  ASSERT_TRUE(store_.WaitUntilBlocked()) << "the writer never reached the store";
  publisher->Submit({Agui("alice", 2)}, outcomes_.For("second"));  // 1 + 1 <= 2
  EXPECT_EQ(outcomes_.size(), 0u);

  publisher->Submit({Agui("alice", 3)}, outcomes_.For("refused"));  // 2 + 1 > 2
  // Refused synchronously, on this thread, without waiting for the writer.
  ASSERT_EQ(outcomes_.size(), 1u);
  const auto refused = outcomes_.records()[0];
  EXPECT_EQ(refused.name, "refused");
  EXPECT_EQ(refused.thread, std::this_thread::get_id());
  ASSERT_TRUE(refused.outcome.has_error());
  EXPECT_EQ(refused.outcome.error().code, ErrorCode::kServiceUnavailable);
  EXPECT_GT(refused.outcome.error().retry_after.count(), 0);
  EXPECT_NE(metrics_.RenderPrometheus().find("herald_publish_rejected_total 1\n"),
            std::string::npos);

  store_.OpenGate();
  publisher->Drain();
  EXPECT_FALSE(store_.gate_timed_out());
  const auto records = outcomes_.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].name, "first");
  EXPECT_EQ(Ids(records[1].outcome), (std::vector<std::string>{"0000abcd-1"}));
  EXPECT_EQ(records[2].name, "second");
  EXPECT_EQ(Ids(records[2].outcome), (std::vector<std::string>{"0000abcd-2"}));
  const auto appends = store_.appends();
  ASSERT_EQ(appends.size(), 2u);
  EXPECT_EQ(Jsons(appends[0]), (std::vector<std::string>{Agui("alice", 1).json}));
  EXPECT_EQ(Jsons(appends[1]), (std::vector<std::string>{Agui("alice", 2).json}));
}

TEST_F(PublisherTest, BackPressureAlsoBoundsPendingBytes) {
  store_.CloseGate();
  PublisherOptions options;
  options.max_pending_bytes = 1;  // any queued request fills it
  auto publisher = MakePublisher(options);
  publisher->Start();

  publisher->Submit({Agui("alice", 1)}, outcomes_.For("first"));
  ASSERT_TRUE(store_.WaitUntilBlocked());
  publisher->Submit({Agui("alice", 2)}, outcomes_.For("refused"));
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_.records()[0].outcome.error().code, ErrorCode::kServiceUnavailable);

  store_.OpenGate();
  publisher->Drain();
  EXPECT_FALSE(store_.gate_timed_out());
  EXPECT_EQ(outcomes_.size(), 2u);
}

TEST_F(PublisherTest, ARequestLargerThanTheBoundIsAcceptedWhenNothingIsPending) {
  PublisherOptions options;
  options.max_pending_events = 2;
  auto publisher = MakePublisher(options);
  publisher->Start();
  publisher->Submit({Agui("alice", 1), Agui("alice", 2), Agui("alice", 3), Agui("alice", 4)},
                    outcomes_.For("big"));
  ASSERT_TRUE(outcomes_.WaitFor(1));
  const auto records = outcomes_.records();
  EXPECT_FALSE(records[0].outcome.has_error());
  EXPECT_EQ(records[0].outcome->events.size(), 4u);
}

TEST_F(PublisherTest, GroupsAreCappedAtMaxGroupEventsWithoutSplittingARequest) {
  PublisherOptions options;
  options.max_group_events = 2;
  auto publisher = MakePublisher(options);
  publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));
  publisher->Submit({Agui("alice", 2)}, outcomes_.For("b"));
  publisher->Submit({Agui("alice", 3)}, outcomes_.For("c"));
  publisher->Submit({Agui("alice", 4), Agui("alice", 5), Agui("alice", 6)}, outcomes_.For("d"));
  publisher->Start();
  ASSERT_TRUE(outcomes_.WaitFor(4));

  const auto appends = store_.appends();
  ASSERT_EQ(appends.size(), 3u);
  EXPECT_EQ(appends[0].size(), 2u);  // a, b
  EXPECT_EQ(appends[1].size(), 1u);  // c: d would take the group past the cap
  EXPECT_EQ(appends[2].size(), 3u);  // d alone, over the cap but whole
  EXPECT_EQ(Ids(outcomes_.records()[3].outcome),
            (std::vector<std::string>{"0000abcd-4", "0000abcd-5", "0000abcd-6"}));
}

TEST_F(PublisherTest, DrainCompletesEverythingAcceptedThenRefuses) {
  constexpr int kRequests = 50;
  auto publisher = MakePublisher();
  publisher->Start();
  for (int i = 0; i < kRequests; ++i) {
    publisher->Submit({Agui("alice", i)}, outcomes_.For(std::to_string(i)));
  }
  publisher->Drain();  // joins the writer: no wait needed afterwards

  const auto records = outcomes_.records();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(records[i].name, std::to_string(i));
    ASSERT_FALSE(records[i].outcome.has_error()) << i;
    EXPECT_EQ(Ids(records[i].outcome),
              (std::vector<std::string>{"0000abcd-" + std::to_string(i + 1)}));
  }

  publisher->Submit({Agui("alice", 99)}, outcomes_.For("late"));
  ASSERT_EQ(outcomes_.size(), static_cast<std::size_t>(kRequests) + 1);
  const auto late = outcomes_.records().back();
  ASSERT_TRUE(late.outcome.has_error());
  EXPECT_EQ(late.outcome.error().code, ErrorCode::kServiceUnavailable);
  EXPECT_GT(late.outcome.error().retry_after.count(), 0);
  publisher->Drain();  // a second drain is harmless
}

TEST_F(PublisherTest, ConcurrentSubmittersEachGetEveryOutcomeInPerUserOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  auto publisher = MakePublisher();
  publisher->Start();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        publisher->Submit({Agui("user-" + std::to_string(t), i)},
                          outcomes_.For(std::to_string(t) + ":" + std::to_string(i)));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(outcomes_.WaitFor(kThreads * kPerThread));

  // Each submitter's requests are numbered in its submission order.
  std::map<std::string, std::uint64_t> last;
  for (const auto& r : outcomes_.records()) {
    ASSERT_FALSE(r.outcome.has_error()) << r.name;
    const std::string thread = r.name.substr(0, r.name.find(':'));
    const std::uint64_t sequence = r.outcome->events.at(0)->id.sequence;
    EXPECT_EQ(sequence, last[thread] + 1) << r.name;
    last[thread] = sequence;
  }
}

}  // namespace
}  // namespace herald::hub

namespace herald::hub {
namespace {

class PublisherIdempotencyTest : public PublisherTest {};

TEST_F(PublisherIdempotencyTest, ARetryWithTheSameKeyReturnsTheOriginalIdsAndStoresNothing) {
  auto publisher = MakePublisher();
  publisher->Start();
  publisher->Submit({Agui("alice", 1), Agui("alice", 2)}, IdempotencyKey{"k1", "f"},
                    outcomes_.For("first"));
  ASSERT_TRUE(outcomes_.WaitFor(1));
  publisher->Submit({Agui("alice", 1), Agui("alice", 2)}, IdempotencyKey{"k1", "f"},
                    outcomes_.For("retry"));
  ASSERT_TRUE(outcomes_.WaitFor(2));

  const auto records = outcomes_.records();
  EXPECT_FALSE(records[0].outcome->replayed);
  EXPECT_TRUE(records[1].outcome->replayed);
  EXPECT_EQ(Ids(records[1].outcome), Ids(records[0].outcome));
  EXPECT_EQ(Ids(records[1].outcome), (std::vector<std::string>{"0000abcd-1", "0000abcd-2"}));
  EXPECT_EQ(store_.appends().size(), 1u) << "the retry must not be stored again";
  EXPECT_EQ(sink_.count(), 1u) << "the retry must not be delivered again";
}

TEST_F(PublisherIdempotencyTest, TheSameKeyTwiceInOneGroupIsStoredOnce) {
  auto publisher = MakePublisher();
  publisher->Submit({Agui("alice", 1)}, IdempotencyKey{"k", "f"}, outcomes_.For("a"));
  publisher->Submit({Agui("alice", 1)}, IdempotencyKey{"k", "f"}, outcomes_.For("b"));
  publisher->Start();
  ASSERT_TRUE(outcomes_.WaitFor(2));

  const auto records = outcomes_.records();
  ASSERT_EQ(store_.appends().size(), 1u);
  EXPECT_EQ(store_.appends()[0].size(), 1u);
  EXPECT_EQ(Ids(records[0].outcome), Ids(records[1].outcome));
  EXPECT_FALSE(records[0].outcome->replayed);
  EXPECT_TRUE(records[1].outcome->replayed);
}

TEST_F(PublisherIdempotencyTest, AKeyReusedForADifferentRequestIsRefusedNamingTheHeader) {
  auto publisher = MakePublisher();
  publisher->Start();
  publisher->Submit({Agui("alice", 1)}, IdempotencyKey{"k", "body-1"}, outcomes_.For("a"));
  ASSERT_TRUE(outcomes_.WaitFor(1));
  publisher->Submit({Agui("alice", 2)}, IdempotencyKey{"k", "body-2"}, outcomes_.For("b"));
  ASSERT_TRUE(outcomes_.WaitFor(2));

  const auto b = outcomes_.records()[1].outcome;
  ASSERT_TRUE(b.has_error());
  EXPECT_EQ(b.error().code, ErrorCode::kValidationError);
  EXPECT_EQ(b.error().field, "Idempotency-Key");
  EXPECT_EQ(store_.appends().size(), 1u);
}

TEST_F(PublisherIdempotencyTest, DifferentKeysAreIndependent) {
  auto publisher = MakePublisher();
  publisher->Submit({Agui("alice", 1)}, IdempotencyKey{"k1", "f"}, outcomes_.For("a"));
  publisher->Submit({Agui("alice", 1)}, IdempotencyKey{"k2", "f"}, outcomes_.For("b"));
  publisher->Start();
  ASSERT_TRUE(outcomes_.WaitFor(2));
  const auto records = outcomes_.records();
  EXPECT_EQ(Ids(records[0].outcome), (std::vector<std::string>{"0000abcd-1"}));
  EXPECT_EQ(Ids(records[1].outcome), (std::vector<std::string>{"0000abcd-2"}));
}

}  // namespace
}  // namespace herald::hub

namespace herald::hub {
namespace {

TEST_F(PublisherTest, CommittedRequestsReleaseTheirShareOfThePendingBound) {
  PublisherOptions options;
  options.max_pending_events = 2;
  auto publisher = MakePublisher(options);
  publisher->Start();
  for (int i = 0; i < 10; ++i) {
    publisher->Submit({Agui("alice", i), Agui("alice", i)}, outcomes_.For(std::to_string(i)));
    ASSERT_TRUE(outcomes_.WaitFor(static_cast<std::size_t>(i) + 1));
    EXPECT_FALSE(outcomes_.records().back().outcome.has_error())
        << "request " << i << " was refused by requests already committed";
  }
}

}  // namespace
}  // namespace herald::hub
