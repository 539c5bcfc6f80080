// The figures a run reports (bench/loadgen/run.cpp): its parameters and, once its workers were
// joined, the connects, the publishers' totals, the deliveries, the latencies. Main thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "options.h"
#include "publisher.h"
#include "report.h"
#include "subscriber.h"
#include "worker.h"

namespace herald::bench {

// The run's parameters, before anything is opened.
void ReportSetup(const Options& o, Report& report, std::int64_t connections,
                 std::uint64_t fd_limit);

// How many subscribers opened, how long it took, why the others failed.
void ReportConnections(const Options& o, Report& report, SubscriberList& subs,
                       std::int64_t connect_start);

// The publishers' totals; returns when publishing started (for the rates that follow).
std::int64_t ReportPublishers(Report& report, const Plan& plan,
                              const std::vector<PublisherResult>& results,
                              std::int64_t run_start_ns, bool published_all);

// What the subscribers received against what was accepted.
void ReportDeliveries(Report& report, const SubscriberList& subs, const PublishShared& shared,
                      std::int64_t publish_start, bool delivered_all);

// Publish-to-deliver latency over every worker, the warm-up events apart.
void ReportLatencies(const Options& o, Report& report, const WorkerList& workers);

}  // namespace herald::bench
