// Commit in place (hub/publisher.h): with the writer idle and nothing queued, the submitting
// thread commits its own request; requests that arrive meanwhile queue for the writer thread.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "hub/publisher.h"
#include "hub/publisher_fakes.h"

namespace herald::hub {
namespace {

using namespace std::chrono_literals;
using namespace publisher_fakes;

TEST_F(PublisherTest, AnIdleWriterLetsTheSubmitterCommitInPlaceAndCompleteBeforeSubmitReturns) {
  store_.SetQuickCommits(true);
  auto publisher = MakePublisher();
  publisher->Start();
  publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));

  ASSERT_EQ(outcomes_.size(), 1u) << "completed before Submit returned";
  const auto record = outcomes_.records()[0];
  EXPECT_EQ(record.thread, std::this_thread::get_id());
  EXPECT_EQ(Ids(record.outcome), (std::vector<std::string>{"0000abcd-1"}));
  EXPECT_EQ(record.batches_delivered, 1u) << "acknowledged only after the fan-out";
  ASSERT_EQ(store_.appends().size(), 1u);
  EXPECT_EQ(Jsons(store_.appends()[0]), (std::vector<std::string>{Agui("alice", 1).json}));
}

TEST_F(PublisherTest, ARequestWithinTheQuietGapAfterTheLastOneGoesToTheWriterThread) {
  store_.SetQuickCommits(true);
  auto publisher = MakePublisher();  // in_place_quiet_gap: 100 µs by default
  publisher->Start();
  publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));
  ASSERT_EQ(outcomes_.size(), 1u);
  clock_.Advance(std::chrono::microseconds(100));  // the gap since a: in place again
  publisher->Submit({Agui("alice", 2)}, outcomes_.For("b"));
  ASSERT_EQ(outcomes_.size(), 2u) << "b completed before Submit returned";
  // The clock has not moved since b came: requests are arriving back to back.
  publisher->Submit({Agui("alice", 3)}, outcomes_.For("c"));
  ASSERT_TRUE(outcomes_.WaitFor(3));

  const auto records = outcomes_.records();
  EXPECT_EQ(records[0].thread, std::this_thread::get_id());
  EXPECT_EQ(records[1].thread, std::this_thread::get_id());
  EXPECT_NE(records[2].thread, std::this_thread::get_id());
  EXPECT_EQ(Ids(records[2].outcome), (std::vector<std::string>{"0000abcd-3"}));
}

TEST_F(PublisherTest, WithCommitOnCallerOffTheWriterThreadCommitsEvenWhenIdle) {
  store_.SetQuickCommits(true);
  PublisherOptions options;
  options.commit_on_caller = false;
  auto publisher = MakePublisher(options);
  publisher->Start();
  publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));
  ASSERT_TRUE(outcomes_.WaitFor(1));
  EXPECT_NE(outcomes_.records()[0].thread, std::this_thread::get_id());
}

TEST_F(PublisherTest, AStoreWhoseCommitsWaitIsNeverCommittedToOnTheSubmittingThread) {
  auto publisher = MakePublisher();  // FakeStore's QuickCommits() is false by default
  publisher->Start();
  publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));
  ASSERT_TRUE(outcomes_.WaitFor(1));
  EXPECT_NE(outcomes_.records()[0].thread, std::this_thread::get_id());
}

TEST_F(PublisherTest, RequestsArrivingDuringACommitInPlaceQueueForTheWriterInOneGroupInOrder) {
  store_.SetQuickCommits(true);
  auto publisher = MakePublisher();
  publisher->Start();
  store_.CloseGate();
  std::thread::id in_place_thread;
  std::thread first([&] {
    in_place_thread = std::this_thread::get_id();
    publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));
  });
  ASSERT_TRUE(store_.WaitUntilBlocked()) << "the first request never reached the store";
  // Queued, not committed here: these calls return while the first commit is held.
  publisher->Submit({Agui("alice", 2)}, outcomes_.For("b"));
  publisher->Submit({Agui("alice", 3)}, outcomes_.For("c"));
  EXPECT_EQ(outcomes_.size(), 0u);
  store_.OpenGate();
  first.join();
  ASSERT_TRUE(outcomes_.WaitFor(3));
  EXPECT_FALSE(store_.gate_timed_out());

  const auto records = outcomes_.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].name, "a");
  EXPECT_EQ(records[0].thread, in_place_thread);
  EXPECT_EQ(Ids(records[0].outcome), (std::vector<std::string>{"0000abcd-1"}));
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_NE(records[i].thread, in_place_thread) << records[i].name;
    EXPECT_NE(records[i].thread, std::this_thread::get_id()) << records[i].name;
  }
  EXPECT_EQ(Ids(records[1].outcome), (std::vector<std::string>{"0000abcd-2"}));
  EXPECT_EQ(Ids(records[2].outcome), (std::vector<std::string>{"0000abcd-3"}));
  const auto appends = store_.appends();
  ASSERT_EQ(appends.size(), 2u);
  EXPECT_EQ(Jsons(appends[1]),
            (std::vector<std::string>{Agui("alice", 2).json, Agui("alice", 3).json}));
}

TEST_F(PublisherTest, WhileAnotherProcessHoldsTheWriteLockTheSubmitterNeverWaitsForIt) {
  store_.SetQuickCommits(true);
  auto publisher = MakePublisher();
  publisher->Start();
  store_.HoldForeignLock();
  // Each Submit returns with its request queued: the in-place attempt gave up on the lock and
  // handed the request to the writer thread, which waits for the lock instead.
  publisher->Submit({Agui("alice", 1)}, outcomes_.For("a"));
  publisher->Submit({Agui("alice", 2)}, outcomes_.For("b"));
  EXPECT_EQ(outcomes_.size(), 0u);
  store_.ReleaseForeignLock();
  ASSERT_TRUE(outcomes_.WaitFor(2));
  EXPECT_FALSE(store_.foreign_lock_timed_out());

  const auto records = outcomes_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "a");
  EXPECT_EQ(Ids(records[0].outcome), (std::vector<std::string>{"0000abcd-1"}));
  EXPECT_EQ(Ids(records[1].outcome), (std::vector<std::string>{"0000abcd-2"}));
  for (const auto& record : records) EXPECT_NE(record.thread, std::this_thread::get_id());
  // One attempt in place (a's; b queued behind it), and no wait on the submitting thread.
  EXPECT_EQ(store_.try_begin_threads(), (std::vector<std::thread::id>{std::this_thread::get_id()}));
  for (const auto id : store_.begin_threads()) EXPECT_NE(id, std::this_thread::get_id());
}

TEST_F(PublisherTest, DrainReturnsOnlyAfterACommitInPlaceUnderWayHasCompleted) {
  store_.SetQuickCommits(true);
  auto publisher = MakePublisher();
  publisher->Start();
  store_.CloseGate();
  std::thread first([&] { publisher->Submit({Agui("alice", 1)}, outcomes_.For("a")); });
  ASSERT_TRUE(store_.WaitUntilBlocked());

  auto drained = std::async(std::launch::async, [&] {
    publisher->Drain();
    return outcomes_.size();
  });
  // The writer thread is idle and ends at once; Drain must still wait for the held commit.
  EXPECT_EQ(drained.wait_for(300ms), std::future_status::timeout);
  store_.OpenGate();
  first.join();
  EXPECT_EQ(drained.get(), 1u);
  EXPECT_FALSE(store_.gate_timed_out());
}

TEST_F(PublisherTest, ConcurrentSubmittersCommittingInPlaceOrQueuedKeepEachUsersOrder) {
  store_.SetQuickCommits(true);
  auto publisher = MakePublisher();
  publisher->Start();
  SubmitFromThreadsAndExpectEachUsersOrder(*publisher, 4, 50);
  publisher->Drain();
}

}  // namespace
}  // namespace herald::hub
