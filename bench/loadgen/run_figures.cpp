#include "run_figures.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>

#include "proc_stats.h"

namespace herald::bench {

namespace {

double Seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

// The subscribers' totals, summed after the workers were joined.
struct DeliveryTotals {
  std::uint64_t delivered = 0, expected = 0, missing = 0, duplicates = 0, misrouted = 0,
                unparsed = 0, named = 0, heartbeats = 0, closes = 0, resumes = 0, down = 0;
  std::int64_t last_delivery = 0;
};

DeliveryTotals SumDeliveries(const SubscriberList& subs, const PublishShared& shared,
                             std::int64_t publish_start) {
  DeliveryTotals t;
  t.last_delivery = publish_start;
  for (const auto& s : subs) {
    if (s->established_ns == 0) continue;
    const std::uint64_t want = shared.user_published[static_cast<std::size_t>(s->user())].load();
    t.delivered += s->unique;
    t.expected += want;
    t.missing += want > s->unique ? want - s->unique : 0;
    t.duplicates += s->duplicates;
    t.misrouted += s->misrouted;
    t.unparsed += s->unparsed;
    t.named += s->named;
    t.heartbeats += s->heartbeats;
    t.closes += static_cast<std::uint64_t>(s->closes);
    t.resumes += static_cast<std::uint64_t>(s->resumes);
    t.down += s->closed ? 1 : 0;
    t.last_delivery = std::max(t.last_delivery, s->last_event_ns);
  }
  return t;
}

}  // namespace

// The run's parameters, before anything is opened.
void ReportSetup(const Options& o, Report& report, std::int64_t connections,
                 std::uint64_t fd_limit) {
  report.Text("target", ToString(o.target));
  report.Text("scenario", ToString(o.scenario));
  if (!o.label.empty()) report.Text("label", o.label);
  for (const std::string& tag : o.tags) {
    const std::size_t eq = tag.find('=');
    report.Text(std::string_view(tag).substr(0, eq), std::string_view(tag).substr(eq + 1));
  }
  report.Integer("loadgen_threads", o.threads);
  report.Integer("users", o.users);
  report.Integer("batch", o.batch);
  report.Integer("per_user", o.per_user);
  report.Integer("connections", connections);
  report.Integer("fd_limit", static_cast<std::int64_t>(fd_limit));
  report.Integer("cores", static_cast<std::int64_t>(std::thread::hardware_concurrency()));
  report.Number("load_average_at_start", LoadAverage1());
}

void ReportConnections(const Options& o, Report& report, SubscriberList& subs,
                       std::int64_t connect_start) {
  std::vector<std::int64_t> times;
  std::int64_t last = connect_start;
  std::map<std::string, std::int64_t> failures;
  for (const auto& s : subs) {
    if (s->established_ns != 0) {
      times.push_back(s->established_ns - s->start_ns);
      last = std::max(last, s->established_ns);
    } else {
      ++failures[s->failed ? s->failure : std::string("not opened in time")];
    }
  }
  const Percentiles p = ComputePercentiles(times, 1e-6);
  report.Integer("connections_opened", static_cast<std::int64_t>(p.count));
  report.Integer("connections_failed", static_cast<std::int64_t>(subs.size() - p.count));
  for (const auto& [why, count] : failures) {
    report.Text("connection_failure", fmt::format("{} x {}", count, why));
  }
  report.Number("connect_total_ms", Seconds(last - connect_start) * 1e3, "ms");
  report.Number("connect_p50_ms", p.p50, "ms");
  report.Number("connect_p99_ms", p.p99, "ms");
  report.Number("connect_max_ms", p.max, "ms");
  (void)o;
}

// The publishers' totals; returns when publishing started (for the rates that follow).
std::int64_t ReportPublishers(Report& report, const Plan& plan,
                              const std::vector<PublisherResult>& results,
                              std::int64_t run_start_ns, bool published_all) {
  PublisherResult sum;
  std::int64_t publish_end = run_start_ns;
  for (const auto& r : results) {
    sum.accepted += r.accepted;
    sum.failed += r.failed;
    sum.retries += r.retries;
    sum.reconnects += r.reconnects;
    sum.requests += r.requests;
    for (const auto& [status, count] : r.item_statuses) sum.item_statuses[status] += count;
    publish_end = std::max(publish_end, r.done_ns);
    for (const auto& [status, count] : r.statuses) sum.statuses[status] += count;
    if (sum.first_error.empty()) sum.first_error = r.first_error;
  }
  const std::int64_t publish_start = plan.paced ? plan.start_ns : run_start_ns;
  report.Integer("events_planned", plan.events);
  report.Integer("events_accepted", static_cast<std::int64_t>(sum.accepted));
  report.Integer("events_failed", static_cast<std::int64_t>(sum.failed));
  report.Integer("publish_retries", static_cast<std::int64_t>(sum.retries));
  report.Integer("publish_reconnects", static_cast<std::int64_t>(sum.reconnects));
  for (const auto& [status, count] : sum.statuses) {
    report.Integer(fmt::format("publish_status_{}", status), static_cast<std::int64_t>(count));
  }
  for (const auto& [status, count] : sum.item_statuses) {
    report.Integer(fmt::format("batch_item_status_{}", status), static_cast<std::int64_t>(count));
  }
  report.Integer("publish_requests_ok", static_cast<std::int64_t>(sum.requests));
  if (!sum.first_error.empty()) report.Text("publish_first_error", sum.first_error);
  report.Flag("published_all", published_all && sum.accepted == std::uint64_t(plan.events));
  const double publish_s = Seconds(publish_end - publish_start);
  report.Number("publish_s", publish_s, "s");
  if (publish_s > 0) {
    report.Number("publishes_per_s", static_cast<double>(sum.accepted) / publish_s, "/s");
  }
  return publish_start;
}

void ReportDeliveries(Report& report, const SubscriberList& subs, const PublishShared& shared,
                      std::int64_t publish_start, bool delivered_all) {
  const DeliveryTotals t = SumDeliveries(subs, shared, publish_start);
  report.Integer("deliveries", static_cast<std::int64_t>(t.delivered));
  report.Integer("deliveries_expected", static_cast<std::int64_t>(t.expected));
  report.Integer("deliveries_missing", static_cast<std::int64_t>(t.missing));
  report.Integer("duplicates", static_cast<std::int64_t>(t.duplicates));
  report.Integer("misrouted", static_cast<std::int64_t>(t.misrouted));
  report.Integer("unparsed_frames", static_cast<std::int64_t>(t.unparsed));
  report.Integer("named_frames", static_cast<std::int64_t>(t.named));
  report.Integer("heartbeats", static_cast<std::int64_t>(t.heartbeats));
  report.Integer("streams_closed_by_server", static_cast<std::int64_t>(t.closes));
  report.Integer("streams_resumed", static_cast<std::int64_t>(t.resumes));
  report.Integer("streams_down_at_end", static_cast<std::int64_t>(t.down));
  report.Flag("every_event_delivered",
              delivered_all && t.missing == 0 && t.duplicates == 0 && t.misrouted == 0);
  const double deliver_s = Seconds(t.last_delivery - publish_start);
  report.Number("deliver_s", deliver_s, "s");
  if (deliver_s > 0) {
    report.Number("deliveries_per_s", static_cast<double>(t.delivered) / deliver_s, "/s");
  }
}

void ReportLatencies(const Options& o, Report& report, const WorkerList& workers) {
  std::vector<std::int64_t> latencies;
  std::vector<std::int64_t> warmup;
  for (const auto& w : workers) {
    latencies.insert(latencies.end(), w->latencies_ns.begin(), w->latencies_ns.end());
    warmup.insert(warmup.end(), w->warmup_latencies_ns.begin(), w->warmup_latencies_ns.end());
  }
  if (o.warmup_events > 0) {
    // The first events (a channel's first message, cold caches) reported apart and together.
    report.Integer("latency_warmup_events", o.warmup_events);
    warmup.insert(warmup.end(), latencies.begin(), latencies.end());
    const Percentiles all = ComputePercentiles(warmup, 1e-6);
    report.Number("latency_incl_warmup_p50_ms", all.p50, "ms");
    report.Number("latency_incl_warmup_p99_ms", all.p99, "ms");
    report.Number("latency_incl_warmup_max_ms", all.max, "ms");
  }
  const Percentiles p = ComputePercentiles(latencies, 1e-6);
  report.Integer("latency_samples", static_cast<std::int64_t>(p.count));
  report.Number("latency_p50_ms", p.p50, "ms");
  report.Number("latency_p99_ms", p.p99, "ms");
  report.Number("latency_max_ms", p.max, "ms");
}

}  // namespace herald::bench
