// The relay's ordering rules (hub/relay.h) against a scripted log: each position reaches the
// shards once, in order, whether it comes from this node's publisher or from the shared log,
// whichever arrives first, and after a lost connection.
#include "hub/relay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace herald::hub {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr auto kWaitLimit = 5s;

StoredEvent Event(std::uint64_t position) {
  return StoredEvent{UserId("alice"),
                     EventId{7, position},
                     Protocol::kAgui,
                     std::nullopt,
                     "CUSTOM",
                     R"({"type":"CUSTOM"})",
                     0,
                     position};
}

// The shared log as another node's commits leave it; notifications only when `Notify` is called.
class ScriptedLog final : public store::LogListener {
 public:
  void Commit(std::uint64_t through) {
    std::lock_guard lock(mutex_);
    while (events_.size() < through) events_.push_back(Event(events_.size() + 1));
  }
  void Notify() {
    std::lock_guard lock(mutex_);
    woken_ = true;
    changed_.notify_all();
  }
  void FailNextWait() {
    std::lock_guard lock(mutex_);
    fail_next_wait_ = true;
    changed_.notify_all();
  }
  int connects() const {
    std::lock_guard lock(mutex_);
    return connects_;
  }

  Result<std::uint64_t> Connect(bool) override {
    std::lock_guard lock(mutex_);
    ++connects_;
    return Result<std::uint64_t>(events_.size());
  }
  Result<std::vector<StoredEvent>> ReadAfter(std::uint64_t after, std::size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<StoredEvent> page;
    for (std::uint64_t p = after; p < events_.size() && page.size() < limit; ++p) {
      page.push_back(events_[p]);
    }
    return Result<std::vector<StoredEvent>>(std::move(page));
  }
  Result<std::uint64_t> Wait(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return woken_ || fail_next_wait_; });
    woken_ = false;
    if (fail_next_wait_) {
      fail_next_wait_ = false;
      return store::StoreFailure("connection lost");
    }
    return Result<std::uint64_t>(0);
  }
  void Wake() override { Notify(); }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<StoredEvent> events_;
  bool woken_ = false;
  bool fail_next_wait_ = false;
  int connects_ = 0;
};

class RecordingSink final : public DeliverySink {
 public:
  void Deliver(std::shared_ptr<const DeliveryBatch> batch) override {
    std::lock_guard lock(mutex_);
    for (const DeliveryItem& item : *batch) positions_.push_back(item.position);
    changed_.notify_all();
  }
  // Waits (bounded) until `count` positions were delivered; returns them all.
  std::vector<std::uint64_t> WaitFor(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kWaitLimit, [&] { return positions_.size() >= count; });
    return positions_;
  }
  std::vector<std::uint64_t> positions() {
    std::lock_guard lock(mutex_);
    return positions_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::uint64_t> positions_;
};

// A batch this node committed: its events with their frames.
std::shared_ptr<const DeliveryBatch> Local(std::uint64_t first, std::uint64_t last) {
  auto batch = std::make_shared<DeliveryBatch>();
  for (std::uint64_t p = first; p <= last; ++p) batch->push_back(MakeDeliveryItem(Event(p)));
  return batch;
}

class RelayTest : public ::testing::Test {
 protected:
  // Polling is slow here: reads happen on wake-ups the test causes.
  void StartRelay(std::uint64_t head = 0, std::size_t page = 1000) {
    log_->Commit(head);
    relay_ = std::make_unique<Relay>(
        std::move(owned_log_), sink_, metrics_,
        RelayOptions{
            .poll_interval = 60s, .page_events = page, .min_backoff = 1ms, .max_backoff = 1ms},
        SystemClock());
    relay_->Start();
  }

  std::unique_ptr<ScriptedLog> owned_log_ = std::make_unique<ScriptedLog>();
  ScriptedLog* log_ = owned_log_.get();
  RecordingSink sink_;
  Metrics metrics_;
  std::unique_ptr<Relay> relay_;
};

TEST_F(RelayTest, StartsAtTheLogHeadSoOlderEventsAreNotDeliveredLive) {
  StartRelay(5);
  EXPECT_EQ(relay_->cursor(), 5u);
  log_->Commit(6);
  log_->Notify();
  EXPECT_THAT(sink_.WaitFor(1), ElementsAre(6));
}

TEST_F(RelayTest, LocalBatchFollowingTheCursorIsDeliveredAtOnce) {
  StartRelay(2);
  log_->Commit(4);
  relay_->Deliver(Local(3, 4));
  EXPECT_THAT(sink_.positions(), ElementsAre(3, 4)) << "delivered in the writer's call";
  log_->Notify();  // its own commit's notification: the read finds nothing new
  log_->Commit(5);
  relay_->Deliver(Local(5, 5));
  EXPECT_THAT(sink_.WaitFor(3), ElementsAre(3, 4, 5));
}

TEST_F(RelayTest, LocalBatchAfterAnotherNodesCommitWaitsForItAndBothArriveOnce) {
  StartRelay();
  log_->Commit(5);  // positions 1-3 from another node, 4-5 this node's
  relay_->Deliver(Local(4, 5));
  EXPECT_THAT(sink_.WaitFor(5), ElementsAre(1, 2, 3, 4, 5));
  log_->Notify();
  relay_->Deliver(Local(4, 5));  // a late duplicate hand-off changes nothing
  log_->Commit(6);
  relay_->Deliver(Local(6, 6));
  EXPECT_THAT(sink_.WaitFor(6), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST_F(RelayTest, EventsTheRelayAlreadyReadAreNotDeliveredAgainByTheLocalBatch) {
  StartRelay();
  log_->Commit(3);
  log_->Notify();  // the notification wins the race with the writer's hand-off
  ASSERT_THAT(sink_.WaitFor(3), ElementsAre(1, 2, 3));
  relay_->Deliver(Local(1, 3));
  relay_->Deliver(Local(2, 3));
  log_->Commit(4);
  relay_->Deliver(Local(4, 4));
  EXPECT_THAT(sink_.WaitFor(4), ElementsAre(1, 2, 3, 4));
}

TEST_F(RelayTest, PagedReadsAndAWaitingLocalBatchComeOutInOrderOnce) {
  StartRelay(0, 2);
  log_->Commit(6);
  relay_->Deliver(Local(3, 6));  // waits for 1-2; the relay then reads pages of two
  EXPECT_THAT(sink_.WaitFor(6), ElementsAre(1, 2, 3, 4, 5, 6));
  log_->Notify();
  log_->Commit(7);
  log_->Notify();
  EXPECT_THAT(sink_.WaitFor(7), ElementsAre(1, 2, 3, 4, 5, 6, 7));
}

TEST_F(RelayTest, AfterALostConnectionItReconnectsAndCatchesUpFromItsCursor) {
  StartRelay();
  log_->Commit(2);
  log_->Notify();
  ASSERT_THAT(sink_.WaitFor(2), ElementsAre(1, 2));
  log_->Commit(5);  // committed unannounced: only a read after the reconnect finds it
  log_->FailNextWait();
  std::vector<std::uint64_t> expected = {1, 2, 3, 4, 5};
  EXPECT_THAT(sink_.WaitFor(5), ElementsAreArray(expected));
  EXPECT_GE(log_->connects(), 2);
  EXPECT_TRUE(relay_->connected());
}

}  // namespace
}  // namespace herald::hub
