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

#include "hub/publisher_fakes.h"

namespace herald::hub {
namespace {

using namespace std::chrono_literals;
using namespace publisher_fakes;

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
  auto publisher = MakePublisher();
  publisher->Start();
  SubmitFromThreadsAndExpectEachUsersOrder(*publisher, 4, 25);
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
