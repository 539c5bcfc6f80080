// loadgen: end-to-end load generator for Herald and nginx+nchan. See docs/BENCHMARKS.md.
#include <fmt/format.h>

#include <exception>

#include "options.h"
#include "run.h"

int main(int argc, char** argv) {
  const auto parsed = herald::bench::ParseOptions(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  try {
    return herald::bench::RunBenchmark(*parsed.options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "loadgen: {}\n", e.what());
    return 1;
  }
}
