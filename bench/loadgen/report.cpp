#include "report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>

namespace herald::bench {

Percentiles ComputePercentiles(std::vector<std::int64_t>& samples, double scale) {
  Percentiles p;
  p.count = samples.size();
  if (samples.empty()) return p;
  const auto at = [&](double q) {
    const auto k = static_cast<std::size_t>(
        std::min<double>(static_cast<double>(samples.size() - 1),
                         std::ceil(q * static_cast<double>(samples.size())) - 1));
    std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k),
                     samples.end());
    return static_cast<double>(samples[k]) * scale;
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.max = static_cast<double>(*std::max_element(samples.begin(), samples.end())) * scale;
  return p;
}

void Report::Number(std::string_view key, double value, std::string_view unit) {
  const double rounded = std::round(value * 1000.0) / 1000.0;
  fields_[key] = rounded;
  fmt::print("{} {}: {:.3f}{}{}\n", prefix_, key, rounded, unit.empty() ? "" : " ", unit);
}

void Report::Integer(std::string_view key, std::int64_t value, std::string_view unit) {
  fields_[key] = value;
  fmt::print("{} {}: {}{}{}\n", prefix_, key, value, unit.empty() ? "" : " ", unit);
}

void Report::Text(std::string_view key, std::string_view value) {
  fields_[key] = value;
  fmt::print("{} {}: {}\n", prefix_, key, value);
}

void Report::Flag(std::string_view key, bool value) {
  fields_[key] = value;
  fmt::print("{} {}: {}\n", prefix_, key, value ? "yes" : "no");
}

std::string Report::Json() const { return boost::json::serialize(fields_); }

}  // namespace herald::bench
