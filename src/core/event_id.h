// Event ids (spec §4): per-user increasing, ASCII, and tied to the store's history.
//
// Text form: "<history>-<sequence>", e.g. "0f3a9c21-42". `history` is 8 lowercase hex digits
// drawn at random when a store is created; `sequence` is the user's event counter in decimal,
// starting at 1, without leading zeros. Sequence 0 ("<history>-0") is the position before a
// user's first event: streams of a user without events start there, so a client that connected
// before any event resumes from the beginning. An id whose history differs from the store's was
// issued by another (e.g. wiped) store and cannot be resumed from.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

struct EventId {
  std::uint32_t history = 0;
  std::uint64_t sequence = 0;

  friend auto operator<=>(const EventId&, const EventId&) = default;
};

std::string FormatEventId(EventId id);
// Appends the text form to `out`.
void AppendEventId(std::string& out, EventId id);

// Parses the text form. Anything else, including the empty string, is malformed (nullopt): a
// malformed Last-Event-ID is treated as absent, never as an error.
std::optional<EventId> ParseEventId(std::string_view text);

}  // namespace herald
