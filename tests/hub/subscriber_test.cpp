#include "hub/subscriber.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hub/subscriber_registry.h"

namespace herald::hub {
namespace {

// A delivery item whose frames say what they are, so a test can tell which one was queued.
DeliveryItem Item(const std::string& user, Protocol protocol, std::uint64_t sequence,
                  std::optional<std::string> context = std::nullopt) {
  DeliveryItem item;
  item.user = UserId(user);
  item.protocol = protocol;
  if (context) item.context = ContextId(*context);
  item.sequence = sequence;
  const std::string tag =
      user + "/" + std::string(ProtocolName(protocol)) + "/" + std::to_string(sequence);
  if (protocol != Protocol::kSystem) {
    item.bare = std::make_shared<const std::string>("bare:" + tag);
  }
  item.wrapped = std::make_shared<const std::string>("wrapped:" + tag);
  return item;
}

// A subscriber plus a record of its on_ready calls.
struct Probe {
  Probe(std::string user, Stream stream, std::optional<std::string> context = std::nullopt,
        OutboxLimits limits = {}, std::atomic<std::int64_t>* shard_bytes = nullptr,
        std::uint64_t id = 1)
      : subscriber(ConnectionId(id), UserId(std::move(user)), stream,
                   context ? std::optional<ContextId>(ContextId(*context)) : std::nullopt, limits,
                   shard_bytes, [this](bool closing) { ready_calls.push_back(closing); }) {}

  std::vector<std::string> TakeAll() {
    std::vector<QueuedFrame> frames;
    subscriber.outbox().TakeFront(1'000'000, frames);
    std::vector<std::string> out;
    for (const QueuedFrame& f : frames) out.push_back(*f.frame);
    return out;
  }

  std::vector<bool> ready_calls;
  Subscriber subscriber;
};

// ---- Routing per stream (spec §3.3) ------------------------------------------------------------

struct RoutingCase {
  Stream stream;
  Protocol protocol;
  bool wanted;
  bool wrapped;  // which frame the stream carries
};

class SubscriberRoutingTest : public ::testing::TestWithParam<RoutingCase> {};

TEST_P(SubscriberRoutingTest, StreamGetsOnlyItsProtocolsInItsFraming) {
  const RoutingCase& c = GetParam();
  Probe probe("alice", c.stream);
  const DeliveryItem item = Item("alice", c.protocol, 1);

  EXPECT_EQ(probe.subscriber.Wants(item), c.wanted);
  const std::size_t bytes = probe.subscriber.Offer(item);
  if (!c.wanted) {
    EXPECT_EQ(bytes, 0u);
    EXPECT_TRUE(probe.subscriber.outbox().empty());
    EXPECT_TRUE(probe.ready_calls.empty());
    return;
  }
  const Frame& expected = c.wrapped ? item.wrapped : item.bare;
  EXPECT_EQ(bytes, expected->size());
  std::vector<QueuedFrame> frames;
  probe.subscriber.outbox().TakeFront(10, frames);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].frame.get(), expected.get()) << "the shared frame itself, not a copy";
  EXPECT_EQ(frames[0].sequence, 1u);
}

std::string RoutingName(const ::testing::TestParamInfo<RoutingCase>& info) {
  return std::string(StreamName(info.param.stream)) + "_" +
         std::string(ProtocolName(info.param.protocol));
}

INSTANTIATE_TEST_SUITE_P(
    AllPairs, SubscriberRoutingTest,
    ::testing::Values(RoutingCase{Stream::kAgui, Protocol::kAgui, true, false},
                      RoutingCase{Stream::kAgui, Protocol::kA2a, false, false},
                      RoutingCase{Stream::kAgui, Protocol::kSystem, false, false},
                      RoutingCase{Stream::kA2a, Protocol::kAgui, false, false},
                      RoutingCase{Stream::kA2a, Protocol::kA2a, true, false},
                      RoutingCase{Stream::kA2a, Protocol::kSystem, false, false},
                      RoutingCase{Stream::kContexts, Protocol::kAgui, true, true},
                      RoutingCase{Stream::kContexts, Protocol::kA2a, true, true},
                      RoutingCase{Stream::kContexts, Protocol::kSystem, true, true}),
    RoutingName);

// ---- Context filter -----------------------------------------------------------------------------

TEST(SubscriberTest, ContextFilterKeepsOnlyThatContextsEvents) {
  Probe filtered("alice", Stream::kContexts, "c1");
  Probe unfiltered("alice", Stream::kContexts);
  const std::vector<DeliveryItem> items = {
      Item("alice", Protocol::kAgui, 1, "c1"),
      Item("alice", Protocol::kAgui, 2, "c2"),
      Item("alice", Protocol::kA2a, 3),  // not attributed
      Item("alice", Protocol::kSystem, 4, "c1"),
  };
  for (const DeliveryItem& item : items) {
    filtered.subscriber.Offer(item);
    unfiltered.subscriber.Offer(item);
  }
  EXPECT_EQ(filtered.TakeAll(),
            (std::vector<std::string>{"wrapped:alice/agui/1", "wrapped:alice/system/4"}));
  EXPECT_EQ(unfiltered.TakeAll().size(), 4u);
}

TEST(SubscriberTest, ContextFilterAppliesOnProtocolStreamsToo) {
  Probe probe("alice", Stream::kAgui, "c1");
  EXPECT_TRUE(probe.subscriber.Wants(Item("alice", Protocol::kAgui, 1, "c1")));
  EXPECT_FALSE(probe.subscriber.Wants(Item("alice", Protocol::kAgui, 2, "c2")));
  EXPECT_FALSE(probe.subscriber.Wants(Item("alice", Protocol::kAgui, 3)));
  EXPECT_FALSE(probe.subscriber.Wants(Item("alice", Protocol::kA2a, 4, "c1")));
}

// ---- Wake-ups and overflow ----------------------------------------------------------------------

TEST(SubscriberTest, OnReadyFalseOnlyWhenTheOutboxGoesFromEmptyToNonEmpty) {
  Probe probe("alice", Stream::kAgui);
  probe.subscriber.Offer(Item("alice", Protocol::kAgui, 1));
  probe.subscriber.Offer(Item("alice", Protocol::kAgui, 2));
  probe.subscriber.Offer(Item("alice", Protocol::kAgui, 3));
  EXPECT_EQ(probe.ready_calls, (std::vector<bool>{false}));

  std::vector<QueuedFrame> frames;
  probe.subscriber.outbox().TakeFront(2, frames);  // one left: not empty
  probe.subscriber.Offer(Item("alice", Protocol::kAgui, 4));
  EXPECT_EQ(probe.ready_calls, (std::vector<bool>{false}));

  probe.subscriber.outbox().TakeFront(10, frames);  // now empty
  probe.subscriber.Offer(Item("alice", Protocol::kAgui, 5));
  EXPECT_EQ(probe.ready_calls, (std::vector<bool>{false, false}));
}

TEST(SubscriberTest, UnwantedOfferDoesNotWakeTheSession) {
  Probe probe("alice", Stream::kAgui);
  probe.subscriber.Offer(Item("alice", Protocol::kA2a, 1));
  EXPECT_TRUE(probe.ready_calls.empty());
}

TEST(SubscriberTest, OverflowClosesAsSlowConsumerAndReleasesItsBytes) {
  std::atomic<std::int64_t> shard_bytes{0};
  Probe probe("alice", Stream::kAgui, std::nullopt, {.max_frames = 2, .max_bytes = 1 << 20},
              &shard_bytes);
  EXPECT_GT(probe.subscriber.Offer(Item("alice", Protocol::kAgui, 1)), 0u);
  EXPECT_GT(probe.subscriber.Offer(Item("alice", Protocol::kAgui, 2)), 0u);
  EXPECT_GT(shard_bytes.load(), 0);

  EXPECT_EQ(probe.subscriber.Offer(Item("alice", Protocol::kAgui, 3)), 0u);

  EXPECT_TRUE(probe.subscriber.closed());
  EXPECT_EQ(probe.subscriber.close_reason(), DisconnectReason::kSlowConsumer);
  EXPECT_TRUE(probe.subscriber.outbox().empty());
  EXPECT_EQ(probe.subscriber.outbox().bytes(), 0u);
  EXPECT_EQ(shard_bytes.load(), 0);
  EXPECT_EQ(probe.ready_calls, (std::vector<bool>{false, true}));
}

TEST(SubscriberTest, OverflowOnBytesClosesToo) {
  Probe probe("alice", Stream::kContexts, std::nullopt, {.max_frames = 100, .max_bytes = 30});
  const DeliveryItem item = Item("alice", Protocol::kAgui, 1);  // "wrapped:alice/agui/1": 20 B
  EXPECT_GT(probe.subscriber.Offer(item), 0u);
  EXPECT_EQ(probe.subscriber.Offer(item), 0u);
  EXPECT_EQ(probe.subscriber.close_reason(), DisconnectReason::kSlowConsumer);
}

TEST(SubscriberTest, OffersAfterCloseAreIgnored) {
  Probe probe("alice", Stream::kAgui, std::nullopt, {.max_frames = 1, .max_bytes = 1 << 20});
  probe.subscriber.Offer(Item("alice", Protocol::kAgui, 1));
  probe.subscriber.Offer(Item("alice", Protocol::kAgui, 2));  // overflows
  ASSERT_TRUE(probe.subscriber.closed());
  const std::vector<bool> calls_at_close = probe.ready_calls;

  for (std::uint64_t s = 3; s < 10; ++s) {
    EXPECT_EQ(probe.subscriber.Offer(Item("alice", Protocol::kAgui, s)), 0u);
  }
  EXPECT_TRUE(probe.subscriber.outbox().empty());
  EXPECT_EQ(probe.ready_calls, calls_at_close);
  EXPECT_EQ(probe.subscriber.close_reason(), DisconnectReason::kSlowConsumer);
}

TEST(SubscriberTest, FirstCloseReasonWinsAndASecondCloseIsANoOp) {
  std::atomic<std::int64_t> shard_bytes{0};
  Probe probe("alice", Stream::kAgui, std::nullopt, {}, &shard_bytes);
  const DeliveryItem item = Item("alice", Protocol::kAgui, 1);
  probe.subscriber.Offer(item);

  EXPECT_EQ(probe.subscriber.Close(DisconnectReason::kDrain), item.bare->size());
  EXPECT_EQ(shard_bytes.load(), 0);
  EXPECT_EQ(probe.subscriber.Close(DisconnectReason::kAdmin), 0u);
  EXPECT_EQ(probe.subscriber.close_reason(), DisconnectReason::kDrain);
  EXPECT_EQ(probe.ready_calls, (std::vector<bool>{false, true}));
}

TEST(SubscriberTest, WriteWatchdogReportsOnlyAPendingWriteOlderThanTheDeadline) {
  Probe probe("alice", Stream::kAgui);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  EXPECT_FALSE(probe.subscriber.WriteStalledSince(t0));
  probe.subscriber.MarkWriteStarted(t0);
  EXPECT_FALSE(probe.subscriber.WriteStalledSince(t0));
  EXPECT_TRUE(probe.subscriber.WriteStalledSince(t0 + std::chrono::milliseconds(1)));
  probe.subscriber.MarkWriteDone();
  EXPECT_FALSE(probe.subscriber.WriteStalledSince(t0 + std::chrono::hours(1)));
}

// ---- Registry -----------------------------------------------------------------------------------

TEST(SubscriberRegistryTest, AUserNeverReceivesAnotherUsersItem) {
  constexpr int kUsers = 25;
  std::vector<std::unique_ptr<Probe>> probes;
  SubscriberRegistry registry;
  std::uint64_t id = 0;
  for (int u = 0; u < kUsers; ++u) {
    for (Stream s : {Stream::kAgui, Stream::kA2a, Stream::kContexts}) {
      probes.push_back(std::make_unique<Probe>("user-" + std::to_string(u), s, std::nullopt,
                                               OutboxLimits{}, nullptr, ++id));
      registry.Add(probes.back()->subscriber);
    }
  }
  ASSERT_EQ(registry.size(), static_cast<std::size_t>(kUsers * 3));

  std::vector<DeliveryItem> batch;
  std::uint64_t sequence = 0;
  for (int round = 0; round < 3; ++round) {
    for (int u = 0; u < kUsers; ++u) {
      for (Protocol p : {Protocol::kAgui, Protocol::kA2a, Protocol::kSystem}) {
        batch.push_back(Item("user-" + std::to_string(u), p, ++sequence));
      }
    }
  }
  batch.push_back(Item("nobody-here", Protocol::kAgui, ++sequence));
  registry.Dispatch(batch);

  for (const auto& probe : probes) {
    const std::string prefix = probe->subscriber.user().str() + "/";
    const std::vector<std::string> frames = probe->TakeAll();
    const std::size_t expected = probe->subscriber.stream() == Stream::kContexts ? 9 : 3;
    EXPECT_EQ(frames.size(), expected) << prefix;
    for (const std::string& frame : frames) {
      const std::string body = frame.substr(frame.find(':') + 1);
      EXPECT_TRUE(body.starts_with(prefix)) << frame << " reached " << prefix;
    }
  }
}

TEST(SubscriberRegistryTest, ARegistrationRemovesItsSubscriberWhenItGoesOrIsReleased) {
  Probe kept("alice", Stream::kAgui, std::nullopt, {}, nullptr, 1);
  Probe left("alice", Stream::kAgui, std::nullopt, {}, nullptr, 2);
  SubscriberRegistry registry;
  Registration kept_registration(registry, kept.subscriber);
  {
    Registration registration(registry, left.subscriber);
    EXPECT_EQ(registry.size(), 2u);
  }
  EXPECT_EQ(registry.size(), 1u) << "gone with its scope";
  registry.Dispatch({Item("alice", Protocol::kAgui, 1)});
  EXPECT_EQ(kept.subscriber.outbox().size(), 1u);
  EXPECT_EQ(left.subscriber.outbox().size(), 0u) << "a gone registration gets nothing";
  kept_registration.Release();
  kept_registration.Release();  // idempotent: removed once
  EXPECT_EQ(registry.size(), 0u);
}

TEST(SubscriberRegistryTest, DispatchDeliversInBatchOrder) {
  Probe probe("alice", Stream::kContexts);
  SubscriberRegistry registry;
  registry.Add(probe.subscriber);
  registry.Dispatch({Item("alice", Protocol::kAgui, 1), Item("alice", Protocol::kSystem, 2),
                     Item("alice", Protocol::kA2a, 3)});
  EXPECT_EQ(probe.TakeAll(),
            (std::vector<std::string>{"wrapped:alice/agui/1", "wrapped:alice/system/2",
                                      "wrapped:alice/a2a/3"}));
}

TEST(SubscriberRegistryTest, RemoveKeepsTheOtherSubscribersOfTheUser) {
  Probe a("alice", Stream::kAgui, std::nullopt, {}, nullptr, 1);
  Probe b("alice", Stream::kAgui, std::nullopt, {}, nullptr, 2);
  Probe c("alice", Stream::kAgui, std::nullopt, {}, nullptr, 3);
  Probe d("alice", Stream::kAgui, std::nullopt, {}, nullptr, 4);
  SubscriberRegistry registry;
  for (Probe* p : {&a, &b, &c, &d}) registry.Add(p->subscriber);

  registry.Remove(a.subscriber);  // first: the last one is swapped into its place
  registry.Remove(c.subscriber);  // what is now the last
  EXPECT_EQ(registry.size(), 2u);

  registry.Dispatch({Item("alice", Protocol::kAgui, 1)});
  EXPECT_TRUE(a.TakeAll().empty());
  EXPECT_EQ(b.TakeAll().size(), 1u);
  EXPECT_TRUE(c.TakeAll().empty());
  EXPECT_EQ(d.TakeAll().size(), 1u);

  std::vector<std::uint64_t> ids;
  registry.ForEachOf(UserId("alice"), [&](Subscriber& s) { ids.push_back(s.id().value()); });
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{2, 4}));
}

TEST(SubscriberRegistryTest, RemoveOfAnUnregisteredSubscriberChangesNothing) {
  Probe registered("alice", Stream::kAgui, std::nullopt, {}, nullptr, 1);
  Probe same_user("alice", Stream::kAgui, std::nullopt, {}, nullptr, 2);
  Probe other_user("bob", Stream::kAgui, std::nullopt, {}, nullptr, 3);
  SubscriberRegistry registry;
  registry.Add(registered.subscriber);

  registry.Remove(same_user.subscriber);
  registry.Remove(other_user.subscriber);
  EXPECT_EQ(registry.size(), 1u);
  registry.Dispatch({Item("alice", Protocol::kAgui, 1)});
  EXPECT_EQ(registered.TakeAll().size(), 1u);
}

TEST(SubscriberRegistryTest, RemovingTheLastSubscriberOfAUserForgetsTheUser) {
  Probe probe("alice", Stream::kAgui);
  SubscriberRegistry registry;
  registry.Add(probe.subscriber);
  registry.Remove(probe.subscriber);
  EXPECT_EQ(registry.size(), 0u);
  int visits = 0;
  registry.ForEachOf(UserId("alice"), [&](Subscriber&) { ++visits; });
  registry.ForEach([&](Subscriber&) { ++visits; });
  EXPECT_EQ(visits, 0);
  EXPECT_EQ(registry.Dispatch({Item("alice", Protocol::kAgui, 1)}).frames, 0u);
}

TEST(SubscriberRegistryTest, ForEachOfVisitsOnlyThatUserAndForEachVisitsAll) {
  Probe a1("alice", Stream::kAgui, std::nullopt, {}, nullptr, 1);
  Probe a2("alice", Stream::kContexts, std::nullopt, {}, nullptr, 2);
  Probe b1("bob", Stream::kAgui, std::nullopt, {}, nullptr, 3);
  SubscriberRegistry registry;
  for (Probe* p : {&a1, &a2, &b1}) registry.Add(p->subscriber);

  std::vector<std::uint64_t> alice;
  registry.ForEachOf(UserId("alice"), [&](Subscriber& s) { alice.push_back(s.id().value()); });
  std::sort(alice.begin(), alice.end());
  EXPECT_EQ(alice, (std::vector<std::uint64_t>{1, 2}));

  int nobody = 0;
  registry.ForEachOf(UserId("carol"), [&](Subscriber&) { ++nobody; });
  EXPECT_EQ(nobody, 0);

  std::vector<std::uint64_t> all;
  registry.ForEach([&](Subscriber& s) { all.push_back(s.id().value()); });
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(SubscriberRegistryTest, DispatchStatsCountFramesBytesAndOverflows) {
  Probe agui("alice", Stream::kAgui, std::nullopt, {.max_frames = 1, .max_bytes = 1 << 20}, nullptr,
             1);
  Probe contexts("alice", Stream::kContexts, std::nullopt, {}, nullptr, 2);
  Probe a2a("alice", Stream::kA2a, std::nullopt, {}, nullptr, 3);
  SubscriberRegistry registry;
  for (Probe* p : {&agui, &contexts, &a2a}) registry.Add(p->subscriber);

  const std::vector<DeliveryItem> batch = {Item("alice", Protocol::kAgui, 1),
                                           Item("alice", Protocol::kAgui, 2),
                                           Item("alice", Protocol::kAgui, 3)};
  const DispatchStats stats = registry.Dispatch(batch);
  // agui: 1 frame then overflow on the 2nd (closed, the 3rd is ignored); contexts: 3 frames.
  EXPECT_EQ(stats.frames, 4u);
  EXPECT_EQ(stats.bytes, batch[0].bare->size() + batch[0].wrapped->size() +
                             batch[1].wrapped->size() + batch[2].wrapped->size());
  EXPECT_EQ(stats.overflowed, 1u);
  EXPECT_EQ(agui.subscriber.close_reason(), DisconnectReason::kSlowConsumer);

  // A subscriber already closed is not counted again.
  const DispatchStats again = registry.Dispatch({Item("alice", Protocol::kAgui, 4)});
  EXPECT_EQ(again.frames, 1u);
  EXPECT_EQ(again.overflowed, 0u);
}

}  // namespace
}  // namespace herald::hub
