// On-disk encodings shared by the SQLite and PostgreSQL stores: protocol codes and the context
// columns. Stable on disk, independent of the enums' values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "store/event_store.h"

namespace herald::store {

// events.protocol holds these codes.
std::int64_t ProtocolCode(Protocol protocol);
std::optional<Protocol> ProtocolFromCode(std::int64_t code);

// Bit mask over protocol codes: the protocols `stream` carries (StreamCarries).
std::int64_t StreamProtocolMask(Stream stream);

// The columns of a contexts row, in the order both stores read them (from column 0).
extern const char* const kContextColumns;

// idempotency_keys.sequences: the request's event sequences in its order, comma-separated, 0
// for a refused event. `sequence_of(i)` is the sequence of the claim's i-th draft.
template <class SequenceOf>
std::string FormatClaimSequences(const IdempotencyClaim& claim, SequenceOf sequence_of) {
  std::string text;
  for (std::size_t draft : claim.drafts) {
    if (!text.empty()) text.push_back(',');
    text += std::to_string(draft == IdempotencyClaim::kRefused ? 0 : sequence_of(draft));
  }
  return text;
}
std::vector<EventId> ParseClaimSequences(std::string_view text, std::uint32_t history);

}  // namespace herald::store
