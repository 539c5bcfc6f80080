// A Clock that moves only when a test moves it: both wall and monotonic time start at the real
// clocks' values when it is made and advance together by Advance(). Thread-safe (readers on the
// hub's threads, Advance on the test's).
//
// OnAdvance observers are called (on the advancing thread, after the time moved) by every
// Advance: how a test wakes what sleeps on a deadline of this clock, e.g. an SSE session whose
// timer waits in real time (tests/support/session_harness.h posts its wake to the shard).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

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

  void Advance(std::chrono::nanoseconds by) {
    elapsed_ns_.fetch_add(by.count());
    std::vector<std::function<void()>> observers;
    {
      std::lock_guard lock(observers_mutex_);
      observers = observers_;
    }
    for (const auto& observer : observers) observer();
  }

  // Calls `observer` after every Advance, for the life of this clock.
  void OnAdvance(std::function<void()> observer) {
    std::lock_guard lock(observers_mutex_);
    observers_.push_back(std::move(observer));
  }

 private:
  std::chrono::nanoseconds elapsed() const { return std::chrono::nanoseconds(elapsed_ns_.load()); }

  const std::chrono::system_clock::time_point wall_start_;
  const std::chrono::steady_clock::time_point monotonic_start_;
  std::atomic<std::int64_t> elapsed_ns_{0};
  std::mutex observers_mutex_;
  std::vector<std::function<void()>> observers_;
};

}  // namespace herald::testing
