#include "core/event_id.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <string_view>

namespace herald {

std::string FormatEventId(EventId id) {
  std::string text;
  AppendEventId(text, id);
  return text;
}

// By hand rather than fmt::format_to("{:08x}-{}"): the writer thread formats two ids an event
// (one per frame), and parsing the format string was most of that (docs/BENCHMARKS.md).
void AppendEventId(std::string& out, EventId id) {
  constexpr std::string_view kHexDigits = "0123456789abcdef";
  constexpr std::size_t kHistoryDigits = 8;
  std::array<char, kHistoryDigits + 1> history{};
  for (std::size_t i = 0; i < kHistoryDigits; ++i) {
    history[kHistoryDigits - 1 - i] = kHexDigits[(id.history >> (4 * i)) & 0xfU];
  }
  history[kHistoryDigits] = '-';
  const fmt::format_int sequence(id.sequence);
  out.append(history.data(), history.size()).append(sequence.data(), sequence.size());
}

std::optional<EventId> ParseEventId(std::string_view text) {
  constexpr std::size_t kHistoryDigits = 8;
  constexpr std::size_t kMaxSequenceDigits = 19;
  if (text.size() < kHistoryDigits + 2 || text[kHistoryDigits] != '-') return std::nullopt;
  const std::string_view history = text.substr(0, kHistoryDigits);
  const std::string_view sequence = text.substr(kHistoryDigits + 1);
  for (char c : history) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return std::nullopt;
  }
  const bool leading_zero = sequence.front() == '0' && sequence.size() > 1;
  if (sequence.size() > kMaxSequenceDigits || leading_zero) return std::nullopt;
  for (char c : sequence) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  EventId id;
  std::from_chars(history.data(), history.data() + history.size(), id.history, 16);
  std::from_chars(sequence.data(), sequence.data() + sequence.size(), id.sequence);
  return id;
}

}  // namespace herald
