#include "run.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <thread>

#include "proc_stats.h"
#include "publisher.h"
#include "report.h"
#include "run_figures.h"
#include "storm.h"
#include "subscriber.h"

namespace herald::bench {
namespace asio = boost::asio;

namespace {

double Seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

// Polls `done` every few milliseconds for at most `timeout_s` seconds.
template <class Done>
bool WaitUntil(Done done, double timeout_s) {
  const std::int64_t deadline = NowNs() + static_cast<std::int64_t>(timeout_s * 1e9);
  while (!done()) {
    if (NowNs() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::uint64_t Total(const WorkerList& workers, std::atomic<std::uint64_t> Counters::*counter) {
  std::uint64_t sum = 0;
  for (const auto& w : workers) sum += (w->counters.*counter).load(std::memory_order_relaxed);
  return sum;
}

// Runs `fn` on the worker's thread and waits for its result.
template <class Fn>
auto OnWorker(Worker& worker, Fn fn) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto result = task.get_future();
  asio::post(worker.io, [&task] { task(); });
  return result.get();
}

struct Phase {
  std::int64_t start_ns = 0;
  double server_cpu = 0;
  double self_cpu = 0;
  double machine_cpu = 0;
  static Phase Begin(const Options& o) {
    return {NowNs(), ProcessCpuSeconds(o.server_pids), SelfCpuSeconds(), MachineBusyCpuSeconds()};
  }
  void End(const Options& o, Report& report, std::string_view name) const {
    const double wall = Seconds(NowNs() - start_ns);
    const double server = ProcessCpuSeconds(o.server_pids) - server_cpu;
    const double self = SelfCpuSeconds() - self_cpu;
    // Whatever else ran on the machine meanwhile: the figures are only as good as this is small.
    const double others = MachineBusyCpuSeconds() - machine_cpu - server - self;
    report.Number(fmt::format("{}_wall_s", name), wall, "s");
    report.Number(fmt::format("{}_server_cpu_s", name), server, "s");
    report.Number(fmt::format("{}_loadgen_cpu_s", name), self, "s");
    if (wall > 0) {
      report.Number(fmt::format("{}_server_cpu_pct", name), 100 * server / wall, "% of one core");
      report.Number(fmt::format("{}_loadgen_cpu_pct", name), 100 * self / wall, "% of one core");
      report.Number(fmt::format("{}_other_cpu_pct", name), 100 * std::max(0.0, others) / wall,
                    "% of one core (other processes)");
    }
  }
};

std::int64_t PlannedEvents(const Options& o) {
  switch (o.scenario) {
    case Scenario::kIdle:
      return 0;
    case Scenario::kLatency:
      return std::llround(o.rate * o.duration);
    case Scenario::kFanout:
    case Scenario::kPublish:
    case Scenario::kStorm:
      return o.events;
  }
  return 0;
}

// --interval: while publishing, one line per interval with the deliveries measured in it and
// their latency, so a long run (bench/soak.sh) shows drift the whole-run figures would hide.
class IntervalLines {
 public:
  IntervalLines(const Options& o, WorkerList& workers, std::int64_t start_ns)
      : workers_(workers),
        interval_ns_(static_cast<std::int64_t>(o.interval * 1e9)),
        next_ns_(start_ns + interval_ns_),
        taken_(workers.size(), 0) {}

  void PrintDue() {
    if (interval_ns_ <= 0 || NowNs() < next_ns_) return;
    next_ns_ += interval_ns_;
    ++index_;
    std::vector<std::int64_t> latencies;
    for (std::size_t w = 0; w < workers_.size(); ++w) {
      Worker& worker = *workers_[w];
      const std::vector<std::int64_t> recent = OnWorker(worker, [&worker, from = taken_[w]] {
        return std::vector<std::int64_t>(
            worker.latencies_ns.begin() + static_cast<std::ptrdiff_t>(from),
            worker.latencies_ns.end());
      });
      taken_[w] += recent.size();
      latencies.insert(latencies.end(), recent.begin(), recent.end());
    }
    const Percentiles p = ComputePercentiles(latencies, 1e-6);
    fmt::print(
        "interval {}: deliveries={} latency_p50_ms={:.3f} latency_p99_ms={:.3f} "
        "latency_max_ms={:.3f} publish_failed={} streams_closed={}\n",
        index_, p.count, p.p50, p.p99, p.max, Total(workers_, &Counters::publish_failed),
        Total(workers_, &Counters::closed));
    std::fflush(stdout);
  }

 private:
  WorkerList& workers_;
  const std::int64_t interval_ns_;
  std::int64_t next_ns_;
  std::vector<std::size_t> taken_;  // latencies already printed, per worker
  int index_ = 0;
};

Plan MakePlan(const Options& o, const Target& target, PortPicker& ports) {
  Plan plan;
  plan.target = &target;
  plan.ports = &ports;
  plan.endpoint = {asio::ip::make_address(o.host), o.port};
  plan.publish_endpoint = {asio::ip::make_address(o.host),
                           o.publish_port != 0 ? o.publish_port : o.port};
  plan.users = o.users;
  plan.per_user = o.per_user;
  plan.events = PlannedEvents(o);
  plan.warmup_events = o.warmup_events;
  plan.publishers = o.publishers;
  plan.batch = o.batch;
  plan.paced = o.scenario == Scenario::kLatency;
  plan.rate = o.rate;
  return plan;
}

using WorkGuards = std::vector<asio::executor_work_guard<asio::io_context::executor_type>>;

void StartWorkers(const Options& o, const Plan& plan, WorkerList& workers, WorkGuards& guards) {
  for (int i = 0; i < o.threads; ++i) {
    workers.push_back(std::make_unique<Worker>());
    guards.push_back(asio::make_work_guard(workers.back()->io));
    workers.back()->latencies_ns.reserve(
        static_cast<std::size_t>(plan.events * o.per_user / o.threads + 1024));
  }
  for (auto& w : workers) w->thread = std::thread([io = &w->io] { io->run(); });
}

SubscriberList MakeSubscribers(const Options& o, const Plan& plan, WorkerList& workers,
                               std::int64_t connections) {
  SubscriberList subs;
  subs.reserve(static_cast<std::size_t>(connections));
  for (std::int64_t i = 0; i < connections; ++i) {
    subs.push_back(std::make_unique<Subscriber>(
        static_cast<int>(i % o.users), *workers[static_cast<std::size_t>(i % o.threads)], plan));
  }
  return subs;
}

// Opens every subscriber, with at most connect_concurrency being opened at once.
void SpawnConnects(const Options& o, WorkerList& workers, SubscriberList& subs) {
  const int per_worker = std::max(1, o.connect_concurrency / o.threads);
  std::vector<std::vector<std::vector<Subscriber*>>> lists(
      workers.size(), std::vector<std::vector<Subscriber*>>(per_worker));
  for (std::size_t i = 0; i < subs.size(); ++i) {
    const std::size_t w = i % workers.size();
    lists[w][(i / workers.size()) % static_cast<std::size_t>(per_worker)].push_back(subs[i].get());
  }
  for (std::size_t w = 0; w < workers.size(); ++w) {
    for (auto& list : lists[w]) {
      if (!list.empty()) {
        asio::co_spawn(workers[w]->io, ConnectSubscribers(std::move(list)), asio::detached);
      }
    }
  }
}

// The server's memory once connected (settle_ms after the connect phase); returns how many
// subscribers are established.
std::uint64_t ReportConnectedMemory(const Options& o, Report& report, const WorkerList& workers,
                                    std::int64_t connections, bool all_opened,
                                    std::int64_t rss_before, std::int64_t pss_before) {
  std::this_thread::sleep_for(std::chrono::milliseconds(o.settle_ms));
  const std::int64_t rss_idle = RssKib(o.server_pids);
  const std::int64_t pss_idle = PssKib(o.server_pids);
  const std::uint64_t established = Total(workers, &Counters::established);
  report.Flag("all_connections_opened", all_opened && established == std::uint64_t(connections));
  report.Integer("server_rss_before_kib", rss_before, "KiB");
  report.Integer("server_rss_connected_kib", rss_idle, "KiB");
  if (established > 0 && !o.server_pids.empty()) {
    report.Number(
        "server_rss_per_connection_bytes",
        static_cast<double>(rss_idle - rss_before) * 1024.0 / static_cast<double>(established),
        "B");
    report.Integer("server_pss_before_kib", pss_before, "KiB");
    report.Integer("server_pss_connected_kib", pss_idle, "KiB");
    report.Number(
        "server_pss_per_connection_bytes",
        static_cast<double>(pss_idle - pss_before) * 1024.0 / static_cast<double>(established),
        "B");
  }
  return established;
}

// Phase 1 of a run, its connect phase and how many subscribers it established.
struct Connected {
  Phase phase;
  std::uint64_t established = 0;
};

Connected ConnectAll(const Options& o, Report& report, WorkerList& workers, SubscriberList& subs,
                     std::int64_t connections) {
  const std::int64_t rss_before = RssKib(o.server_pids);
  const std::int64_t pss_before = PssKib(o.server_pids);
  Connected out{Phase::Begin(o)};
  SpawnConnects(o, workers, subs);
  const bool all_opened = WaitUntil(
      [&] {
        return Total(workers, &Counters::established) + Total(workers, &Counters::failed) >=
               static_cast<std::uint64_t>(connections);
      },
      o.connect_timeout);
  out.phase.End(o, report, "connect");
  out.established =
      ReportConnectedMemory(o, report, workers, connections, all_opened, rss_before, pss_before);
  return out;
}

void StopWorkers(WorkGuards& guards, WorkerList& workers) {
  for (auto& guard : guards) guard.reset();
  for (auto& w : workers) w->io.stop();
  for (auto& w : workers) w->thread.join();
}

// Per user, the subscribers that should receive what is published: established and, outside a
// storm, still open.
std::vector<std::uint64_t> LivePerUser(const Options& o, WorkerList& workers,
                                       const SubscriberList& subs, bool storm) {
  std::vector<std::uint64_t> live_per_user(static_cast<std::size_t>(o.users), 0);
  for (std::size_t w = 0; w < workers.size(); ++w) {
    const auto counts = OnWorker(*workers[w], [&subs, &o, w, storm, n = workers.size()] {
      std::vector<std::uint64_t> c(static_cast<std::size_t>(o.users), 0);
      for (std::size_t i = w; i < subs.size(); i += n) {
        if (subs[i]->established_ns != 0 && (!subs[i]->closed || storm)) {
          ++c[static_cast<std::size_t>(subs[i]->user())];
        }
      }
      return c;
    });
    for (std::size_t u = 0; u < counts.size(); ++u) live_per_user[u] += counts[u];
  }
  return live_per_user;
}

// What the publish phase leaves for the report.
struct PublishOutcome {
  Phase run;
  bool published_all = true;
  bool delivered_all = true;
  bool restarted = false;
  std::int64_t release_ns = 0;
};

// Publishes, then waits for every subscriber to have every accepted event.
PublishOutcome Publish(const Options& o, Plan& plan, WorkerList& workers, SubscriberList& subs,
                       PublishShared& shared, std::vector<PublisherResult>& results,
                       std::uint64_t established, bool storm) {
  PublishOutcome out;
  const std::vector<std::uint64_t> live_per_user = LivePerUser(o, workers, subs, storm);
  out.run = Phase::Begin(o);
  plan.start_ns = out.run.start_ns + 10'000'000;
  for (int j = 0; j < o.publishers; ++j) {
    Worker& w = *workers[static_cast<std::size_t>(j % o.threads)];
    asio::co_spawn(w.io, RunPublisher(&w, &plan, &shared, &results[static_cast<std::size_t>(j)], j),
                   asio::detached);
  }
  const double publish_bound = (plan.paced ? o.duration : 0) + std::max(60.0, o.connect_timeout);
  IntervalLines intervals(o, workers, out.run.start_ns);
  out.published_all = WaitUntil(
      [&] {
        intervals.PrintDue();
        return shared.publishers_done.load() >= o.publishers;
      },
      publish_bound);
  const auto expected = [&] {
    std::uint64_t sum = 0;
    for (std::size_t u = 0; u < live_per_user.size(); ++u) {
      sum += shared.user_published[u].load(std::memory_order_relaxed) * live_per_user[u];
    }
    return sum;
  };
  if (storm) {
    out.restarted = WaitForRestart(o);
    out.release_ns = ReleaseStreams(workers);
  }
  out.delivered_all = WaitUntil(
      [&] {
        return Total(workers, &Counters::delivered) >= expected() &&
               (!storm || Total(workers, &Counters::resumed) >= established);
      },
      o.drain_timeout);
  return out;
}

}  // namespace

int RunBenchmark(const Options& o) {
  const std::uint64_t fd_limit = RaiseFileLimit();
  const std::int64_t connections = std::int64_t{o.users} * o.per_user;
  Report report(fmt::format("[{} {}]", ToString(o.target), ToString(o.scenario)));
  ReportSetup(o, report, connections, fd_limit);
  if (static_cast<std::uint64_t>(connections + o.publishers + 32) > fd_limit) {
    fmt::print(stderr, "loadgen: {} connections do not fit the file limit {}\n", connections,
               fd_limit);
    return 2;
  }

  const Target target(o);
  PortPicker ports;
  Plan plan = MakePlan(o, target, ports);
  WorkerList workers;
  WorkGuards guards;
  StartWorkers(o, plan, workers, guards);
  SubscriberList subs = MakeSubscribers(o, plan, workers, connections);

  // Phase 1: open every subscriber.
  const Connected connected = ConnectAll(o, report, workers, subs, connections);
  const std::uint64_t established = connected.established;

  // Storm: every stream ends now and waits; the events below are what it misses.
  const bool storm = o.scenario == Scenario::kStorm;
  if (storm && !DropAndHoldStreams(workers, subs, established, o.drain_timeout)) {
    fmt::print(stderr, "loadgen: the streams did not all end within {} s\n", o.drain_timeout);
  }

  // Phase 2: publish, then wait for every subscriber to have every accepted event.
  PublishShared shared(o.users);
  std::vector<PublisherResult> results(static_cast<std::size_t>(o.publishers));
  const bool publishing = o.scenario != Scenario::kIdle && established > 0;
  PublishOutcome outcome;
  if (publishing) {
    outcome = Publish(o, plan, workers, subs, shared, results, established, storm);
  }
  const std::int64_t rss_after = RssKib(o.server_pids);

  StopWorkers(guards, workers);

  // Everything below reads state the joined threads left behind.
  ReportConnections(o, report, subs, connected.phase.start_ns);
  if (publishing) {
    outcome.run.End(o, report, "run");
    const std::int64_t publish_start =
        ReportPublishers(report, plan, results, outcome.run.start_ns, outcome.published_all);
    ReportDeliveries(report, subs, shared, publish_start, outcome.delivered_all);
    ReportLatencies(o, report, workers);
    report.Integer("server_rss_after_kib", rss_after, "KiB");
    if (storm) {
      report.Flag("storm_server_restarted", outcome.restarted);
      ReportStorm(report, subs, outcome.release_ns);
    }
  }
  fmt::print("{}\n", report.Json());
  std::fflush(stdout);
  subs.clear();     // closes the subscribers' sockets while their io_contexts still exist
  workers.clear();  // then destroys the remaining coroutines
  return 0;
}

}  // namespace herald::bench
