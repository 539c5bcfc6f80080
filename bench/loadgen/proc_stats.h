// Resource readings from /proc and getrusage: the servers' RSS and CPU time, our own CPU time,
// and the file-descriptor limit. Linux only; a pid that cannot be read counts as zero.
#pragma once

#include <cstdint>
#include <vector>

namespace herald::bench {

// Sum of VmRSS over the pids, in KiB.
std::int64_t RssKib(const std::vector<int>& pids);

// Sum of the proportional set size (smaps_rollup Pss) over the pids, in KiB: shared pages (nginx
// workers share nchan's memory zone) are split between the processes instead of counted twice.
std::int64_t PssKib(const std::vector<int>& pids);

// Sum of utime + stime over the pids (every thread of each process), in seconds.
double ProcessCpuSeconds(const std::vector<int>& pids);

// CPU time every process on the machine spent busy (not idle or waiting for I/O), in seconds
// summed over all cores, from /proc/stat.
double MachineBusyCpuSeconds();

// The 1-minute load average.
double LoadAverage1();

// This process's user + system CPU time, in seconds.
double SelfCpuSeconds();

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
std::uint64_t RaiseFileLimit();

// CLOCK_MONOTONIC in nanoseconds: the clock every timestamp of the run uses.
std::int64_t NowNs();

}  // namespace herald::bench
