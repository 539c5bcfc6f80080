#include "core/event_id.h"

#include <fmt/format.h>

#include <charconv>
#include <iterator>

namespace herald {

std::string FormatEventId(EventId id) {
  std::string text;
  AppendEventId(text, id);
  return text;
}

void AppendEventId(std::string& out, EventId id) {
  fmt::format_to(std::back_inserter(out), "{:08x}-{}", id.history, id.sequence);
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
