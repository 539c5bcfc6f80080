// What every fuzz target shares: the input as text, a fixed clock and secret, and an invariant
// check that stops the run whatever the build type (NDEBUG leaves assert() out).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace herald::fuzz {

// Every target sees the same "now", so a run replays exactly (tokens in the seed corpora expire
// long after it).
inline constexpr std::chrono::system_clock::time_point kNow{std::chrono::seconds{1'700'000'000}};

// The HS256 secret of the targets' verifiers; the seed tokens are signed with it.
inline constexpr std::string_view kHs256Secret = "herald-fuzz-secret-0123456789abcdef";

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A broken invariant is a bug: report it and abort, so libFuzzer keeps the input as a crash.
inline void Require(bool holds, const char* invariant) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", invariant);
  std::abort();
}

}  // namespace herald::fuzz
