// The hub's time, injected (issue 16). Every decision that depends on time reads it from a Clock
// handed down from the composition root: token expiry, retention age, timestamps in answers
// (wall time), heartbeats, rate-limit refill, write stalls and back-off (monotonic time). `serve`
// passes SystemClock(); tests pass a ManualClock (tests/support/manual_clock.h) and move time
// on instead of waiting for it.
#pragma once

#include <chrono>

namespace herald {

class Clock {
 public:
  virtual ~Clock() = default;

  // Wall time: token expiry, retention age, timestamps.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time: intervals and deadlines (heartbeats, rate limits, stalls, back-off).
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

// The real clocks (system_clock and steady_clock); one instance for the process.
const Clock& SystemClock();

}  // namespace herald
