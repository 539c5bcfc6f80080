#include "store/columns.h"

#include <algorithm>

namespace herald::store {

std::int64_t ProtocolCode(Protocol protocol) {
  switch (protocol) {
    case Protocol::kAgui:
      return 0;
    case Protocol::kA2a:
      return 1;
    case Protocol::kSystem:
      return 2;
  }
  return -1;
}

std::optional<Protocol> ProtocolFromCode(std::int64_t code) {
  switch (code) {
    case 0:
      return Protocol::kAgui;
    case 1:
      return Protocol::kA2a;
    case 2:
      return Protocol::kSystem;
    default:
      return std::nullopt;
  }
}

std::int64_t StreamProtocolMask(Stream stream) {
  std::int64_t mask = 0;
  for (Protocol protocol : {Protocol::kAgui, Protocol::kA2a, Protocol::kSystem}) {
    if (StreamCarries(stream, protocol)) mask |= std::int64_t{1} << ProtocolCode(protocol);
  }
  return mask;
}

const char* const kContextColumns =
    "context_id, user_id, name, kind, created_at_ms, updated_at_ms, task_count, message_count, "
    "last_message_at_ms";

std::vector<EventId> ParseClaimSequences(std::string_view text, std::uint32_t history) {
  std::vector<EventId> ids;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    ids.push_back(EventId{history, std::stoull(std::string(text.substr(pos, comma - pos)))});
    pos = comma + 1;
  }
  return ids;
}

}  // namespace herald::store
