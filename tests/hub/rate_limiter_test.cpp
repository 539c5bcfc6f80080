#include "hub/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace herald::hub {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const Clock::time_point kStart = Clock::time_point() + 1h;

TEST(RateLimiterTest, AQuietKeySpendsItsBurstThenIsRefusedWithTheTimeToTheNextToken) {
  RateLimiter limiter({.per_second = 4, .burst = 3});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(limiter.Take("alice", kStart), Clock::duration::zero()) << i;
  const Clock::duration wait = limiter.Take("alice", kStart);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(wait), 250ms)
      << "one token every 250 ms";
}

TEST(RateLimiterTest, ARefusedRequestSpendsNothing) {
  RateLimiter limiter({.per_second = 1, .burst = 1});
  EXPECT_EQ(limiter.Take("alice", kStart), Clock::duration::zero());
  for (int i = 0; i < 5; ++i)
    EXPECT_GT(limiter.Take("alice", kStart + 100ms), Clock::duration::zero());
  EXPECT_EQ(limiter.Take("alice", kStart + 1s), Clock::duration::zero())
      << "refusals do not push the next token further away";
}

TEST(RateLimiterTest, TokensRefillAtTheRateUpToTheBurst) {
  RateLimiter limiter({.per_second = 10, .burst = 5});
  for (int i = 0; i < 5; ++i) ASSERT_EQ(limiter.Take("alice", kStart), Clock::duration::zero());
  ASSERT_GT(limiter.Take("alice", kStart), Clock::duration::zero());
  // 300 ms later: three tokens.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(limiter.Take("alice", kStart + 300ms), Clock::duration::zero()) << i;
  EXPECT_GT(limiter.Take("alice", kStart + 300ms), Clock::duration::zero());
  // An hour later: the burst, not 36 000 tokens.
  const auto later = kStart + 1h;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Take("alice", later), Clock::duration::zero()) << i;
  EXPECT_GT(limiter.Take("alice", later), Clock::duration::zero());
}

TEST(RateLimiterTest, KeysHaveIndependentBudgets) {
  RateLimiter limiter({.per_second = 1, .burst = 2});
  for (int i = 0; i < 2; ++i) ASSERT_EQ(limiter.Take("alice", kStart), Clock::duration::zero());
  ASSERT_GT(limiter.Take("alice", kStart), Clock::duration::zero());
  EXPECT_EQ(limiter.Take("bob", kStart), Clock::duration::zero());
  EXPECT_EQ(limiter.Take("alice2", kStart), Clock::duration::zero());
}

TEST(RateLimiterTest, AZeroRateMeansNoLimitAndRemembersNothing) {
  RateLimiter limiter({.per_second = 0, .burst = 0});
  for (int i = 0; i < 10'000; ++i)
    ASSERT_EQ(limiter.Take("alice", kStart), Clock::duration::zero());
  EXPECT_EQ(limiter.Keys(), 0u);
}

TEST(RateLimiterTest, AClockThatStepsBackGrantsNoExtraTokens) {
  RateLimiter limiter({.per_second = 1, .burst = 1});
  ASSERT_EQ(limiter.Take("alice", kStart), Clock::duration::zero());
  EXPECT_GT(limiter.Take("alice", kStart - 10s), Clock::duration::zero());
  EXPECT_GT(limiter.Take("alice", kStart + 500ms), Clock::duration::zero());
  EXPECT_EQ(limiter.Take("alice", kStart + 1s), Clock::duration::zero());
}

TEST(RateLimiterTest, RefilledKeysAreForgottenSoManyOneOffKeysStayBounded) {
  RateLimiter limiter({.per_second = 10, .burst = 10});
  // 100 000 one-off keys (say, peer addresses), one request each, 1 ms apart: a key's bucket is
  // full again 100 ms after its request, so only the last ~100 ms of keys need remembering.
  constexpr int kKeys = 100'000;
  std::size_t most = 0;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(limiter.Take("peer-" + std::to_string(i), kStart + i * 1ms), Clock::duration::zero());
    if (i % 1000 == 0) most = std::max(most, limiter.Keys());
  }
  most = std::max(most, limiter.Keys());
  EXPECT_LT(most, 16u * 2 * 1024) << "each of the 16 parts sweeps once it doubles past 1024 keys";
  EXPECT_GT(most, 100u) << "recent keys are remembered";
}

TEST(RateLimiterTest, ConcurrentTakersNeverSpendMoreThanTheBurst) {
  RateLimiter limiter({.per_second = 1e-6, .burst = 1000});  // no refill within the test
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.Take("shared", kStart) == Clock::duration::zero()) admitted.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 1000);
}

}  // namespace
}  // namespace herald::hub
