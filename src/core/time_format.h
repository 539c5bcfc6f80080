// Time formats used on the wire.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

// "2026-11-24T09:46:11.123Z" (UTC, millisecond precision).
std::string FormatRfc3339(std::chrono::system_clock::time_point time);

// Whether `text` is an RFC 3339 date-time ("2026-11-24T09:46:11Z", fractional seconds and
// numeric offsets allowed), years 0000-9999.
bool IsRfc3339(std::string_view text);

// The time an RFC 3339 date-time names; nullopt for anything else, and for times the system
// clock cannot hold (libstdc++: nanoseconds, about years 1678-2261).
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

std::int64_t ToUnixMillis(std::chrono::system_clock::time_point time);

}  // namespace herald
