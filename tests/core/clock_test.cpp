#include "core/clock.h"

#include <gtest/gtest.h>

#include "support/manual_clock.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

TEST(ClockTest, TheSystemClockReadsTheRealClocks) {
  const auto wall_before = std::chrono::system_clock::now();
  const auto monotonic_before = std::chrono::steady_clock::now();
  const auto wall = SystemClock().Now();
  const auto monotonic = SystemClock().Monotonic();
  EXPECT_GE(wall, wall_before);
  EXPECT_LE(wall, std::chrono::system_clock::now());
  EXPECT_GE(monotonic, monotonic_before);
  EXPECT_LE(monotonic, std::chrono::steady_clock::now());
}

TEST(ClockTest, AManualClockStandsStillUntilAdvancedThenMovesBothTimesTogether) {
  testing::ManualClock clock;
  const auto wall = clock.Now();
  const auto monotonic = clock.Monotonic();
  EXPECT_EQ(clock.Now(), wall);
  EXPECT_EQ(clock.Monotonic(), monotonic);
  clock.Advance(90s);
  EXPECT_EQ(clock.Now() - wall, 90s);
  EXPECT_EQ(clock.Monotonic() - monotonic, 90s);
}

}  // namespace
}  // namespace herald
