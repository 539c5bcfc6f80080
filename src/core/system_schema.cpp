// The System event table (spec §3.1; core/event_schema.h): the hub's own events.

#include "core/event_schema.h"

namespace herald::event_schema {
namespace {

// ---- System (spec §3.1) -------------------------------------------------------------------------

constexpr Field kContextEntry[] = {Str("context_id"),
                                   Str("name"),
                                   Req("created_at", kInteger | kString).With(kTime),
                                   Req("updated_at", kInteger | kString).With(kTime),
                                   Count("message_count"),
                                   Count("task_count")};
constexpr Shape kContextEntryShape{kContextEntry};
constexpr Field kContextCreated[] = {Str("contextId"), Str("name")};
constexpr Field kContextUpdated[] = {Str("contextId"), OptStr("name")};
constexpr Field kContextDeleted[] = {Str("contextId")};
constexpr Field kContextsSnapshot[] = {Req("contexts", kArray).Items(kObject, &kContextEntryShape)};
constexpr Field kConnected[] = {Req("connectionId", kString | kInteger).With(kCount)};

constexpr EventSpec kSystemEvents[] = {
    {"CONTEXT_CREATED", kContextCreated},
    {"CONTEXT_UPDATED", kContextUpdated},
    {"CONTEXT_DELETED", kContextDeleted},
    {"CONTEXTS_SNAPSHOT", kContextsSnapshot},
    {"CONNECTED", kConnected},
    {"HEARTBEAT", {}},
};

}  // namespace

constinit const ProtocolSpec kSystemSchema{Protocol::kSystem, "System", kSystemEvents, {}, {}, {}};

}  // namespace herald::event_schema
