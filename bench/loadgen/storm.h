// The reconnect storm (scenario storm, issue 15): every stream of the run ends at once, its
// user's events are published while it is away, the server is restarted by whoever runs the
// loadgen (bench/run_storm.sh does, when the loadgen prints "storm: restart the server now"),
// and then every stream reconnects at once with the Last-Event-ID it had. Measured: how long
// until every stream streams again, and until each has every event it missed.
#pragma once

#include <cstdint>

#include "options.h"
#include "report.h"
#include "subscriber.h"
#include "worker.h"

namespace herald::bench {

// Makes every worker hold its streams, then ends every open one from this side; true once
// `streams` have ended, false after `timeout_s`.
bool DropAndHoldStreams(WorkerList& workers, const SubscriberList& subs, std::uint64_t streams,
                        double timeout_s);

// Prints the restart request, then waits for the server's port to refuse connections and then
// to accept them again; false after o.restart_timeout.
bool WaitForRestart(const Options& o);

// Lets every held stream reopen, all at once; returns when it did (NowNs).
std::int64_t ReleaseStreams(WorkerList& workers);

// The storm's figures, from the subscribers (read after the workers have been joined).
void ReportStorm(Report& report, const SubscriberList& subs, std::int64_t release_ns);

}  // namespace herald::bench
