#include "http/request_id.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>

namespace herald::http {

namespace {

std::uint64_t ProcessPrefix() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) | device();
}

bool Acceptable(std::string_view id) {
  return !id.empty() && id.size() <= kMaxRequestIdBytes &&
         std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

std::string RequestIdOf(const Request& request) {
  const auto sent = request.find(kRequestIdHeader);
  if (sent != request.end() && Acceptable(sent->value())) return std::string(sent->value());
  static const std::uint64_t prefix = ProcessPrefix();
  static std::atomic<std::uint32_t> counter{0};
  return fmt::format("{:016x}{:08x}", prefix, counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace herald::http
