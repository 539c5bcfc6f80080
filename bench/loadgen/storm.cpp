#include "storm.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>
#include <vector>

#include "proc_stats.h"

namespace herald::bench {
namespace asio = boost::asio;

namespace {

// Whether a TCP connection to the server's port is accepted now.
bool Accepts(const asio::ip::tcp::endpoint& endpoint) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(endpoint, ec);
  socket.close();
  return !ec;
}

// Polls `done` every millisecond for at most `timeout_s` seconds.
template <class Done>
bool PollUntil(Done done, double timeout_s) {
  const std::int64_t deadline = NowNs() + static_cast<std::int64_t>(timeout_s * 1e9);
  while (!done()) {
    if (NowNs() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Runs `fn` on every worker's thread and waits for all of them.
template <class Fn>
void OnEveryWorker(WorkerList& workers, Fn fn) {
  std::vector<std::future<void>> done;
  for (auto& worker : workers) {
    auto task = std::make_shared<std::packaged_task<void()>>([&fn, w = worker.get()] { fn(*w); });
    done.push_back(task->get_future());
    asio::post(worker->io, [task] { (*task)(); });
  }
  for (auto& f : done) f.get();
}

std::uint64_t Ended(const WorkerList& workers) {
  std::uint64_t sum = 0;
  for (const auto& w : workers) sum += w->counters.closed.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace

bool DropAndHoldStreams(WorkerList& workers, const SubscriberList& subs, std::uint64_t streams,
                        double timeout_s) {
  OnEveryWorker(workers, [&subs](Worker& worker) {
    worker.hold = true;
    for (const auto& sub : subs) {
      if (&sub->worker() != &worker || sub->established_ns == 0 || sub->closed) continue;
      boost::system::error_code ignored;
      sub->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    }
  });
  return PollUntil([&] { return Ended(workers) >= streams; }, timeout_s);
}

bool WaitForRestart(const Options& o) {
  const asio::ip::tcp::endpoint endpoint{asio::ip::make_address(o.host), o.port};
  fmt::print("storm: restart the server now (port {})\n", o.port);
  std::fflush(stdout);
  return PollUntil([&] { return !Accepts(endpoint); }, o.restart_timeout) &&
         PollUntil([&] { return Accepts(endpoint); }, o.restart_timeout);
}

std::int64_t ReleaseStreams(WorkerList& workers) {
  const std::int64_t released = NowNs();
  OnEveryWorker(workers, [](Worker& worker) {
    worker.hold = false;
    if (worker.release) worker.release->cancel();
  });
  return released;
}

void ReportStorm(Report& report, const SubscriberList& subs, std::int64_t release_ns) {
  std::vector<std::int64_t> reconnect;
  std::vector<std::int64_t> caught_up;
  std::int64_t streams = 0;
  for (const auto& sub : subs) {
    if (sub->established_ns == 0) continue;
    ++streams;
    if (sub->resumed_ns < release_ns) continue;  // never reopened after the release
    reconnect.push_back(sub->resumed_ns - release_ns);
    caught_up.push_back(std::max(sub->resumed_ns, sub->last_event_ns) - release_ns);
  }
  const Percentiles r = ComputePercentiles(reconnect, 1e-6);
  const Percentiles c = ComputePercentiles(caught_up, 1e-6);
  report.Integer("storm_streams", streams);
  report.Integer("storm_streams_reopened", static_cast<std::int64_t>(r.count));
  report.Number("storm_reopen_p50_ms", r.p50, "ms");
  report.Number("storm_reopen_p99_ms", r.p99, "ms");
  report.Number("storm_all_streaming_ms", r.max, "ms");
  report.Number("storm_caught_up_p50_ms", c.p50, "ms");
  report.Number("storm_caught_up_p99_ms", c.p99, "ms");
  report.Number("storm_all_caught_up_ms", c.max, "ms");
}

}  // namespace herald::bench
