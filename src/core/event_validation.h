// Validation and normalisation of published events (spec §3.1, §3.2). Pure functions: no I/O,
// no clock (the caller passes `now`), thread-safe.
//
// What is checked, per protocol:
// * "type": present, a string, and a known type of that protocol (AG-UI retired THINKING_* in
//   1.0, so those are unknown).
// * Every declared field of that type: required ones present; present ones (required or
//   optional) of the declared JSON kind. A present optional field that is `null` is an error:
//   optional fields are omitted, never null (spec §3.1, AG-UI 1.0 "absent means absent").
// * Nested shapes where the protocol defines them (AG-UI messages, content parts, JSON Patch
//   operations, run input, outcomes, token usage; the CONTEXTS_SNAPSHOT entries), with paths such
//   as "messages[2].role" or "contexts[0].name".
// * "timestamp", when present: an integer of epoch milliseconds in [0, 2^53 - 1] (a JSON number
//   with an integral value counts, as in JavaScript), or an RFC 3339 date-time string.
// * Ids: every string-valued field named `id` or ending in `Id`/`_id` (messageId, toolCallId,
//   runId, threadId, taskId, contextId, artifactId, parentMessageId, subagentRunId, context_id,
//   JSON-RPC id, …) must satisfy IsValidClientId: non-empty, at most 256 bytes, no control
//   characters. This is stricter than AG-UI, which accepts any string.
// * Nesting: no value nested deeper than kMaxJsonDepth containers (the event object is level 1).
// * Numbers: finite (a literal beyond a double's range parses as infinity and could not be
//   written back as JSON); the error names its path, e.g. "value.a[1].b".
// Unknown extra fields are allowed, at any level, and kept untouched.
//
// AG-UI shapes follow the AG-UI 1.0 schema as generated into @ag-ui/core's zod validators; see the
// note at the top of agui_schema.cpp for the exact source and the points where the hub
// deliberately differs (ids, string timestamps, non-negative timestamps).
//
// A2A kinds where spec §3.1 names a field without a type:
//   input, message, content, prompt     string or object (plain text, or an A2A message/part)
//   state                               one of the TASK_STATE_* strings of spec §3.1
//   artifact                            object;  append, lastChunk: boolean;  agentName, authUrl:
//                                       string
//   JSON_RPC_RESPONSE id                string or integer; result: any JSON value, null included
//   JSON_RPC_ERROR id                   string, integer or null (JSON-RPC 2.0 allows null when the
//                                       request id was unreadable); code: integer; message:
//                                       string; data: any JSON value except null
// System kinds:
//   CONTEXT_CREATED {contextId, name: string}, CONTEXT_UPDATED {contextId, name?: string},
//   CONTEXT_DELETED {contextId}, CONTEXTS_SNAPSHOT {contexts: array of {context_id, name: string,
//   created_at, updated_at: timestamp as above, message_count, task_count: non-negative
//   integer}}, CONNECTED {connectionId: id string or non-negative integer}, HEARTBEAT {}.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "core/event.h"

namespace herald {

// The first problem found in an event, for a 422 answer.
struct ValidationError {
  // JSON path of the offending field relative to the event object: "messageId", "type",
  // "delta[0].op", "contexts[2].name". Built from declared field names and indices, except for
  // over-deep nesting, where it is the top-level member holding the deep value (empty if that
  // member's name is not printable).
  std::string field;
  // Human readable, e.g. "messageId is required". Never echoes a submitted value.
  std::string message;
};

// --validation (docs/MIGRATING.md). Strict: AG-UI 1.0 and spec §3.1 as described above.
// Compatible (the default): also what the original system's back-end publishes where its types
// are looser — TOOL_CALL_RESULT.content any JSON and role any of developer/system/assistant/user/
// tool; TEXT_MESSAGE_START/CHUNK role "tool"; RUN_STARTED.input and RUN_FINISHED.result any
// JSON; MESSAGES_SNAPSHOT.messages any array; TASK_STATUS_UPDATE.state also in A2A 0.3's
// lower-case forms ("completed", "input-required", …); and null for any optional field (as if
// absent). Accepted events are passed through unchanged.
enum class ValidationMode { kCompatible, kStrict };

// Checks `event` as one event of `protocol` (see above). Returns the first problem found, or
// nullopt when the event is valid.
std::optional<ValidationError> ValidateEvent(Protocol protocol, const boost::json::object& event,
                                             ValidationMode mode = ValidationMode::kStrict);

// Spec §3.1: when "timestamp" is absent, adds `now` as integer epoch milliseconds for AG-UI and as
// an RFC 3339 UTC string for A2A and System. A present timestamp is left alone.
void AddTimestampIfAbsent(Protocol protocol, boost::json::object& event,
                          std::chrono::system_clock::time_point now);

// The maximum JSON nesting depth accepted (spec §3.2), counting the event object as 1. Parse
// request bodies with boost::json::parse_options::max_depth set to this (Boost's default is 32)
// and answer its error::too_deep with 422, not 400.
inline constexpr std::size_t kMaxJsonDepth = 64;

}  // namespace herald
