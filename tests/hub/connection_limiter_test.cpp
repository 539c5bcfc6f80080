#include "hub/connection_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

namespace herald::hub {
namespace {

const UserId kAlice("alice");
const UserId kBob("bob");

TEST(ConnectionLimiterTest, CapsConnectionsPerUserPerStream) {
  ConnectionLimiter limiter(2);
  ConnectionLimiter::Lease first = limiter.TryAcquire(kAlice, Stream::kAgui);
  ConnectionLimiter::Lease second = limiter.TryAcquire(kAlice, Stream::kAgui);
  EXPECT_TRUE(first);
  EXPECT_TRUE(second);
  EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 2u);

  ConnectionLimiter::Lease third = limiter.TryAcquire(kAlice, Stream::kAgui);
  EXPECT_FALSE(third);
  EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 2u) << "a refused acquire takes no slot";
}

TEST(ConnectionLimiterTest, OtherStreamsAndUsersAreIndependent) {
  ConnectionLimiter limiter(1);
  ConnectionLimiter::Lease alice_agui = limiter.TryAcquire(kAlice, Stream::kAgui);
  ASSERT_TRUE(alice_agui);
  ASSERT_FALSE(limiter.TryAcquire(kAlice, Stream::kAgui));

  ConnectionLimiter::Lease alice_a2a = limiter.TryAcquire(kAlice, Stream::kA2a);
  ConnectionLimiter::Lease alice_contexts = limiter.TryAcquire(kAlice, Stream::kContexts);
  ConnectionLimiter::Lease bob_agui = limiter.TryAcquire(kBob, Stream::kAgui);
  EXPECT_TRUE(alice_a2a);
  EXPECT_TRUE(alice_contexts);
  EXPECT_TRUE(bob_agui);
  EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 1u);
  EXPECT_EQ(limiter.Count(kAlice, Stream::kA2a), 1u);
  EXPECT_EQ(limiter.Count(kAlice, Stream::kContexts), 1u);
  EXPECT_EQ(limiter.Count(kBob, Stream::kAgui), 1u);
  EXPECT_EQ(limiter.Count(kBob, Stream::kA2a), 0u);
}

TEST(ConnectionLimiterTest, CountOfAnUnknownUserIsZero) {
  const ConnectionLimiter limiter(3);
  EXPECT_EQ(limiter.Count(UserId("nobody"), Stream::kContexts), 0u);
}

TEST(ConnectionLimiterTest, ZeroCapRefusesEveryone) {
  ConnectionLimiter limiter(0);
  EXPECT_FALSE(limiter.TryAcquire(kAlice, Stream::kAgui));
  EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 0u);
}

TEST(ConnectionLimiterTest, DestroyedLeaseFreesItsSlotAtOnce) {
  ConnectionLimiter limiter(1);
  {
    ConnectionLimiter::Lease lease = limiter.TryAcquire(kAlice, Stream::kA2a);
    ASSERT_TRUE(lease);
    EXPECT_FALSE(limiter.TryAcquire(kAlice, Stream::kA2a));
  }
  EXPECT_EQ(limiter.Count(kAlice, Stream::kA2a), 0u);
  EXPECT_TRUE(limiter.TryAcquire(kAlice, Stream::kA2a));
}

TEST(ConnectionLimiterTest, MoveConstructionTransfersTheSlotWithoutDoubleRelease) {
  ConnectionLimiter limiter(2);
  ConnectionLimiter::Lease original = limiter.TryAcquire(kAlice, Stream::kAgui);
  {
    ConnectionLimiter::Lease moved(std::move(original));
    EXPECT_TRUE(moved);
    EXPECT_FALSE(original);  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 1u);
  }
  EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 0u);
}

TEST(ConnectionLimiterTest, MoveAssignmentReleasesTheSlotItHeld) {
  ConnectionLimiter limiter(5);
  ConnectionLimiter::Lease target = limiter.TryAcquire(kAlice, Stream::kAgui);
  ConnectionLimiter::Lease source = limiter.TryAcquire(kBob, Stream::kContexts);
  ASSERT_EQ(limiter.Count(kAlice, Stream::kAgui), 1u);

  target = std::move(source);
  EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 0u) << "the old slot is released";
  EXPECT_EQ(limiter.Count(kBob, Stream::kContexts), 1u) << "the moved slot is kept";
  EXPECT_TRUE(target);
  EXPECT_FALSE(source);  // NOLINT(bugprone-use-after-move)

  target = ConnectionLimiter::Lease{};
  EXPECT_EQ(limiter.Count(kBob, Stream::kContexts), 0u);
  EXPECT_FALSE(target);
}

TEST(ConnectionLimiterTest, MoveAssignmentBetweenLeasesOfTheSameSlotKeepsOne) {
  ConnectionLimiter limiter(5);
  ConnectionLimiter::Lease a = limiter.TryAcquire(kAlice, Stream::kAgui);
  ConnectionLimiter::Lease b = limiter.TryAcquire(kAlice, Stream::kAgui);
  ASSERT_EQ(limiter.Count(kAlice, Stream::kAgui), 2u);
  a = std::move(b);
  EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 1u);
}

TEST(ConnectionLimiterTest, SelfMoveAssignmentKeepsTheSlot) {
  ConnectionLimiter limiter(5);
  ConnectionLimiter::Lease lease = limiter.TryAcquire(kAlice, Stream::kAgui);
  ConnectionLimiter::Lease& alias = lease;
  lease = std::move(alias);
  EXPECT_TRUE(lease);
  EXPECT_EQ(limiter.Count(kAlice, Stream::kAgui), 1u);
}

TEST(ConnectionLimiterTest, ConcurrentAcquiresNeverExceedTheCap) {
  constexpr std::size_t kCap = 3;
  constexpr int kThreads = 8;
  ConnectionLimiter limiter(kCap);
  std::atomic<int> granted{0};
  std::vector<ConnectionLimiter::Lease> leases(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      leases[t] = limiter.TryAcquire(kAlice, Stream::kContexts);
      if (leases[t]) granted.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(granted.load(), static_cast<int>(kCap));
  EXPECT_EQ(limiter.Count(kAlice, Stream::kContexts), kCap);
  leases.clear();
  EXPECT_EQ(limiter.Count(kAlice, Stream::kContexts), 0u);
}

}  // namespace
}  // namespace herald::hub
