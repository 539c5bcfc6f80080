// A Clock that moves only when a test moves it: both wall and monotonic time start at the real
// clocks' values when it is made and advance together by Advance(). Thread-safe (readers on the
// hub's threads, Advance on the test's).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.h"

namespace herald::testing {

class ManualClock final : public Clock {
 public:
  ManualClock() : ManualClock(std::chrono::system_clock::now()) {}
  explicit ManualClock(std::chrono::system_clock::time_point wall_start)
      : wall_start_(wall_start), monotonic_start_(std::chrono::steady_clock::now()) {}

  std::chrono::system_clock::time_point Now() const override {
    return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed());
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return monotonic_start_ + elapsed();
  }

  void Advance(std::chrono::nanoseconds by) { elapsed_ns_.fetch_add(by.count()); }

 private:
  std::chrono::nanoseconds elapsed() const { return std::chrono::nanoseconds(elapsed_ns_.load()); }

  const std::chrono::system_clock::time_point wall_start_;
  const std::chrono::steady_clock::time_point monotonic_start_;
  std::atomic<std::int64_t> elapsed_ns_{0};
};

}  // namespace herald::testing
