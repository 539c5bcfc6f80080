// The run's figures: one human-readable line per metric as it is recorded, and the same figures
// as one JSON line at the end. Main thread only.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace herald::bench {

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
  double max = 0;
  std::size_t count = 0;
};

// Percentiles of `samples` (reordered in place), scaled by `scale` (e.g. 1e-3 for ns → µs).
Percentiles ComputePercentiles(std::vector<std::int64_t>& samples, double scale);

class Report {
 public:
  explicit Report(std::string prefix) : prefix_(std::move(prefix)) {}

  void Number(std::string_view key, double value, std::string_view unit = "");
  void Integer(std::string_view key, std::int64_t value, std::string_view unit = "");
  void Text(std::string_view key, std::string_view value);
  void Flag(std::string_view key, bool value);

  // The final line: every figure recorded so far as one JSON object.
  std::string Json() const;

 private:
  std::string prefix_;
  boost::json::object fields_;
};

}  // namespace herald::bench
