// Event vocabulary: protocols, streams and the event records that flow through the hub.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/event_id.h"
#include "core/ids.h"

namespace herald {

// What a publisher sends (spec §3).
enum class Protocol : std::uint8_t { kAgui, kA2a, kSystem };
// What a subscriber opens (spec §1.1).
enum class Stream : std::uint8_t { kAgui, kA2a, kContexts };
inline constexpr int kStreamCount = 3;

std::string_view ProtocolName(Protocol protocol);
std::optional<Protocol> ParseProtocol(std::string_view name);
std::string_view StreamName(Stream stream);

// Routing (spec §3.3): AG-UI -> agui + contexts; A2A -> a2a + contexts; System -> contexts.
constexpr bool StreamCarries(Stream stream, Protocol protocol) {
  switch (stream) {
    case Stream::kAgui:
      return protocol == Protocol::kAgui;
    case Stream::kA2a:
      return protocol == Protocol::kA2a;
    case Stream::kContexts:
      return true;
  }
  return false;
}

// The protocol-specific stream of a protocol, if it has one.
std::optional<Stream> PrimaryStream(Protocol protocol);

// A validated event on its way to the store: `json` is the compact single-line encoding of the
// publisher's event with its timestamp filled in.
struct EventDraft {
  UserId user;
  Protocol protocol = Protocol::kAgui;
  std::optional<ContextId> context;  // attribution (spec §3.4)
  std::string type;
  std::string json;
  std::optional<std::string> task;  // an A2A event's taskId: counted in task_count
  // Published to /contexts/{id}/events: the context must exist and be the user's (no auto-create).
  bool context_must_exist = false;
  // A system CONTEXT_CREATED/UPDATED/DELETED event: what it does to the user's context table
  // (another system keeping Herald's contexts in step, docs/MIGRATING.md). The event itself is
  // what subscribers get; the hub emits no second one.
  enum class ContextEffect { kNone, kUpsert, kDelete };
  ContextEffect context_effect = ContextEffect::kNone;
  std::optional<std::string> context_name;  // kUpsert: the name it sets (absent: kept/default)
};

// An event the store has accepted and numbered.
struct StoredEvent {
  UserId user;
  EventId id;
  Protocol protocol = Protocol::kAgui;
  std::optional<ContextId> context;
  std::string type;
  std::string json;
  std::int64_t stored_at_ms = 0;
  // Its place in a cluster store's log (commit order across every process, store/event_store.h
  // LogListener); 0 in a store that one process writes alone.
  std::uint64_t position = 0;
};

// One serialised SSE frame, shared (never copied) by every connection that sends it.
using Frame = std::shared_ptr<const std::string>;

}  // namespace herald
