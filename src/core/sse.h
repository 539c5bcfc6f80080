// Server-Sent Events framing (spec §5). Pure functions: bytes in, bytes out.
//
// Every frame uses LF line endings only. Data frames carry exactly one `data:` line, so the JSON
// handed in must already be compact (no CR or LF).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"

namespace herald::sse {

// "id: <id>\ndata: <json>\n\n".
std::string DataFrame(std::string_view id, std::string_view json);

// The contexts stream wraps every event: {"protocol":"agui","event":<json>}.
std::string WrapEvent(Protocol protocol, std::string_view event_json);

// Appends a stored event's frame, DataFrame(FormatEventId(id), json) or, `wrapped`, the same with
// WrapEvent(protocol, json) as its data, without building either piece apart. The frame is at
// most json.size() + kEventFrameOverhead bytes.
void AppendEventFrame(std::string& out, EventId id, Protocol protocol, std::string_view json,
                      bool wrapped);
inline constexpr std::size_t kEventFrameOverhead = 72;  // "id: ", the id, "\ndata: ", envelope

// The first bytes of a stream: "retry: <ms>\n:<comment>\n\n", sent with its first frame.
std::string Preamble(std::chrono::milliseconds retry, std::string_view comment);

// The first bytes of a fresh agui/a2a stream: the preamble's lines, then in the same block
// "id: <id>\nevent: connected\ndata: {"type":"CONNECTED","connectionId":"<n>"}\n\n". A named
// event (not seen by onmessage) that gives the client its cursor before any event arrives, so a
// stream that ends before its first event still reconnects with Last-Event-ID.
std::string ConnectedPreamble(std::chrono::milliseconds retry, std::string_view comment,
                              std::string_view id, std::uint64_t connection_id);

// The first bytes of a fresh agui/a2a stream with --compat-frames=false: the preamble's lines
// and "id: <id>", no data. It dispatches no event (so no named event reaches the client), but
// sets EventSource's lastEventId, so the client still has its cursor before any event.
std::string PositionPreamble(std::chrono::milliseconds retry, std::string_view comment,
                             std::string_view id);

// "id: <id>\nevent: reset\ndata: {"type":"STREAM_RESET","reason":"<reason>"}\n\n" (spec §4).
// `id` is the stream's current position, so the client's next reconnect resumes from there
// instead of repeating the reset.
std::string ResetFrame(std::string_view id, std::string_view reason);

// A named event with a JSON payload, e.g. "event: auth_expiring\ndata: {...}\n\n".
std::string NamedFrame(std::string_view event, std::string_view json);

// "retry: <ms>\n\n": changes the client's reconnect delay (used when draining).
std::string RetryFrame(std::chrono::milliseconds retry);

// Keep-alive frames: the default that existing clients expect, and the comment alternative.
inline constexpr std::string_view kHeartbeatEvent =
    "event: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n";
inline constexpr std::string_view kHeartbeatComment = ":heartbeat\n\n";

}  // namespace herald::sse
