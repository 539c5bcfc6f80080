// One benchmark run: open the subscribers, publish (unless idle), wait for the deliveries,
// measure, print the report. Returns the process exit code.
#pragma once

#include "options.h"

namespace herald::bench {

int RunBenchmark(const Options& options);

}  // namespace herald::bench
