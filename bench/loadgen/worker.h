// The run's shared plan and the per-thread workers that carry the connections.
//
// Each Worker owns one io_context run by one thread; every connection stays on its worker for
// life. Progress counters are atomics written by the owning thread only and read by the
// orchestrating main thread; everything else a worker touches is read by main only after the
// worker's thread has been joined.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "target.h"

namespace herald::bench {

// Hands out local ports for subscriber connections. Letting connect() choose costs a search
// over every port already used towards the same destination — quadratic over 19 000
// connections (seconds of kernel time) — so subscribers bind explicitly, walking the
// ephemeral range. Thread-safe.
class PortPicker {
 public:
  PortPicker();
  // The next candidate port (cycles through the range).
  std::uint16_t Next();
  std::uint32_t range_size() const { return high_ - low_ + 1; }

 private:
  std::uint32_t low_ = 32768;
  std::uint32_t high_ = 60999;
  std::atomic<std::uint32_t> next_{0};
};

// Read-only once publishing starts.
struct Plan {
  const Target* target = nullptr;
  PortPicker* ports = nullptr;
  boost::asio::ip::tcp::endpoint endpoint;  // subscribers
  boost::asio::ip::tcp::endpoint
      publish_endpoint;  // publishers (another cluster node, or the same)
  int users = 0;
  int per_user = 0;
  std::int64_t events = 0;
  std::int64_t warmup_events = 0;  // not in the latency figures
  int publishers = 0;
  int batch = 1;              // events per request (> 1: Herald batch publish, not paced)
  bool paced = false;         // latency scenario: a steady rate instead of as fast as possible
  double rate = 0;            // events per second when paced
  std::int64_t start_ns = 0;  // when paced: event seq is due at start_ns + seq / rate
};

// Shared by every publisher on every worker.
struct PublishShared {
  explicit PublishShared(int users) : user_published(static_cast<std::size_t>(users)) {}
  std::atomic<std::int64_t> next_seq{0};
  std::vector<std::atomic<std::uint32_t>> user_published;  // accepted events per user
  std::atomic<int> publishers_done{0};
};

struct Counters {
  std::atomic<std::uint64_t> established{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> closed{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> publish_failed{0};
  std::atomic<std::uint64_t> resumed{0};  // reopened with Last-Event-ID after the server ended them
};

struct Worker {
  Worker() : scratch(64 * 1024) {}
  boost::asio::io_context io{1};
  std::vector<char> scratch;                      // read buffer shared by this worker's subscribers
  std::int64_t now_ns = 0;                        // time the bytes being parsed were read
  std::vector<std::int64_t> latencies_ns;         // events from plan.warmup_events on
  std::vector<std::int64_t> warmup_latencies_ns;  // the events before
  alignas(64) Counters counters;
  std::thread thread;
  // Storm (worker thread only): while `hold`, a stream that ended waits for `release` (a timer
  // that never expires; cancelling it wakes every waiter) instead of reopening.
  bool hold = false;
  std::unique_ptr<boost::asio::steady_timer> release;
};

using WorkerList = std::vector<std::unique_ptr<Worker>>;

// Relaxed increment of a counter only the owning thread writes.
inline void Bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace herald::bench
