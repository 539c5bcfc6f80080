// On-disk encodings shared by the SQLite and PostgreSQL stores: protocol codes and the context
// columns. Stable on disk, independent of the enums' values.
#pragma once

#include <cstdint>
#include <optional>

#include "core/event.h"

namespace herald::store {

// events.protocol holds these codes.
std::int64_t ProtocolCode(Protocol protocol);
std::optional<Protocol> ProtocolFromCode(std::int64_t code);

// Bit mask over protocol codes: the protocols `stream` carries (StreamCarries).
std::int64_t StreamProtocolMask(Stream stream);

// The columns of a contexts row, in the order both stores read them (from column 0).
extern const char* const kContextColumns;

}  // namespace herald::store
