#include "hub/byte_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <optional>
#include <thread>
#include <vector>

namespace herald::hub {
namespace {

using Refusal = ByteBudget::Refusal;

// The lease of an admitted charge; fails the test when it was refused.
ByteBudget::Lease Admitted(std::variant<ByteBudget::Lease, Refusal> charge) {
  EXPECT_TRUE(std::holds_alternative<ByteBudget::Lease>(charge));
  if (auto* lease = std::get_if<ByteBudget::Lease>(&charge)) return std::move(*lease);
  return {};
}

std::optional<Refusal> RefusalOf(const std::variant<ByteBudget::Lease, Refusal>& charge) {
  if (const auto* refusal = std::get_if<Refusal>(&charge)) return *refusal;
  return std::nullopt;
}

TEST(ByteBudgetTest, AKeyHoldsUpToItsShareAndTheChargePastItIsRefusedAsPerKey) {
  ByteBudget budget({.total = 1000, .per_key = 100});
  auto first = Admitted(budget.TryAcquire("alice", 60));
  auto second = Admitted(budget.TryAcquire("alice", 40));
  EXPECT_EQ(budget.Held("alice"), 100u);
  EXPECT_EQ(RefusalOf(budget.TryAcquire("alice", 1)), Refusal::kPerKey);
  EXPECT_EQ(budget.Held("alice"), 100u) << "a refused charge holds nothing";
  auto bob = Admitted(budget.TryAcquire("bob", 100));  // another key has a share of its own
  EXPECT_EQ(budget.Held(), 200u);
}

TEST(ByteBudgetTest, TheTotalRefusesAChargeThatWouldPassItWhicheverKeyMakesIt) {
  ByteBudget budget({.total = 250, .per_key = 100});
  auto a = Admitted(budget.TryAcquire("a", 100));
  auto b = Admitted(budget.TryAcquire("b", 100));
  EXPECT_EQ(RefusalOf(budget.TryAcquire("c", 51)), Refusal::kTotal);
  auto c = Admitted(budget.TryAcquire("c", 50));
  EXPECT_EQ(budget.Held(), 250u);
  EXPECT_EQ(RefusalOf(budget.TryAcquire("d", 1)), Refusal::kTotal);
}

TEST(ByteBudgetTest, AChargeLargerThanAShareOrTheTotalIsAdmittedAloneSoEveryResponseCanBeServed) {
  ByteBudget budget({.total = 1000, .per_key = 100});
  {
    auto huge = Admitted(budget.TryAcquire("alice", 5000));
    EXPECT_EQ(RefusalOf(budget.TryAcquire("alice", 1)), Refusal::kPerKey);
    EXPECT_EQ(RefusalOf(budget.TryAcquire("bob", 1)), Refusal::kTotal);
  }
  auto small = Admitted(budget.TryAcquire("bob", 10));
  auto large = Admitted(budget.TryAcquire("alice", 500));  // alice holds nothing: alone, it fits
  EXPECT_EQ(budget.Held(), 510u);
}

TEST(ByteBudgetTest, ReleasedLeasesGiveTheirBytesBackToTheGaugeAndTheKeyIsForgotten) {
  std::atomic<std::int64_t> gauge{0};
  ByteBudget budget({.total = 1000, .per_key = 100}, &gauge);
  {
    auto a = Admitted(budget.TryAcquire("alice", 70));
    auto b = Admitted(budget.TryAcquire("bob", 30));
    EXPECT_EQ(gauge.load(), 100);
    EXPECT_EQ(budget.Keys(), 2u);
    ByteBudget::Lease moved = std::move(a);  // a moved lease releases once, from its new home
    EXPECT_EQ(moved.bytes(), 70u);
    EXPECT_EQ(gauge.load(), 100);
  }
  EXPECT_EQ(gauge.load(), 0);
  EXPECT_EQ(budget.Held(), 0u);
  EXPECT_EQ(budget.Keys(), 0u);
}

TEST(ByteBudgetTest, ZeroLimitsMeanNoLimitAndZeroBytesHoldNothing) {
  ByteBudget budget({.total = 0, .per_key = 0});
  auto a = Admitted(budget.TryAcquire("alice", 1u << 30));
  auto b = Admitted(budget.TryAcquire("alice", 1u << 30));
  ByteBudget tight({.total = 1, .per_key = 1});
  auto held = Admitted(tight.TryAcquire("alice", 1));
  auto empty = Admitted(tight.TryAcquire("alice", 0));
  EXPECT_EQ(empty.bytes(), 0u);
  EXPECT_EQ(tight.Held(), 1u);
}

TEST(ByteBudgetTest, ALeaseMayOutliveItsBudget) {
  std::atomic<std::int64_t> gauge{0};
  ByteBudget::Lease lease;
  {
    ByteBudget budget({.total = 100, .per_key = 100}, &gauge);
    lease = Admitted(budget.TryAcquire("alice", 10));
  }
  EXPECT_EQ(gauge.load(), 10);
  lease = {};
  EXPECT_EQ(gauge.load(), 0);
}

TEST(ByteBudgetTest, ConcurrentChargesNeverHoldMoreThanTheTotal) {
  std::atomic<std::int64_t> gauge{0};
  ByteBudget budget({.total = 1000, .per_key = 300}, &gauge);  // four keys could want 1200
  std::atomic<std::int64_t> most{0};
  const auto note_most = [&] {
    const std::int64_t now = gauge.load();
    std::int64_t seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
  };
  // Every thread takes its first charges and notes the total before any lets go: the charges
  // overlap however the threads are scheduled.
  std::latch charged(4);
  std::latch noted(4);
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "user-" + std::to_string(t);
      std::vector<ByteBudget::Lease> held(5);  // each thread keeps up to five charges
      for (std::size_t i = 0; i < 3; ++i) {
        auto charge = budget.TryAcquire(key, 100);
        if (auto* lease = std::get_if<ByteBudget::Lease>(&charge)) held[i] = std::move(*lease);
      }
      charged.arrive_and_wait();
      note_most();
      noted.arrive_and_wait();
      for (std::size_t i = 0; i < 20'000; ++i) {
        auto charge = budget.TryAcquire(key, 100);
        if (auto* lease = std::get_if<ByteBudget::Lease>(&charge))
          held[i % held.size()] = std::move(*lease);
        note_most();
        if (i % 3 == 0) held[(i + 1) % held.size()] = {};
      }
    });
  }
  threads.clear();
  EXPECT_LE(most.load(), 1000);
  EXPECT_EQ(most.load(), 1000) << "the charges overlapped up to the total";
  EXPECT_EQ(gauge.load(), 0);
  EXPECT_EQ(budget.Keys(), 0u);
}

}  // namespace
}  // namespace herald::hub
