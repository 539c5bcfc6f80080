// The bytes of an SSE session that need no connection: the response head, the opening frames
// (preamble, snapshot or reset), replay pages, the auth_expiring event and the drain's retry
// delay. Pure functions (DrainRetry draws a random number); the session
// (http/sse_session_steps.h) writes what they return.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "http/services.h"
#include "http/sse_session.h"
#include "hub/resume.h"

namespace herald::http {

// The most outbox frames one write of the live loop takes.
inline constexpr std::size_t kMaxFramesPerWrite = 256;

// "HTTP/1.1 200 OK", the event-stream headers, chunking when `chunked`, `extra_head`, the blank
// line.
std::string ResponseHead(bool chunked, std::string_view extra_head);

// What a stream starts with, decided from the user's view read after registering: the resume
// plan, the first frames (after the head) and the highest sequence they cover.
struct Opening {
  hub::ResumePlan plan;
  std::string frames;
  std::uint64_t floor = 0;
};
Opening PlanOpening(const StreamRequest& request, const store::ContextsView& view,
                    std::uint32_t history, const HttpOptions& options, ConnectionId connection,
                    std::chrono::system_clock::time_point now);

// The frames of one replay page for `stream`; `after` becomes the last event's sequence.
std::string ReplayFrames(const store::ReplayPage& page, Stream stream, std::uint64_t& after);

// The `auth_expiring` named frame for a token that expires at `expires_at`.
std::string AuthExpiringFrame(std::chrono::system_clock::time_point expires_at);

// The constant heartbeat frame of --heartbeat-style.
std::string_view HeartbeatFrame(const HttpOptions& options);

// A drain's reconnect delay, random in [client_retry, max(client_retry, drain_window)].
std::chrono::milliseconds DrainRetry(const HttpOptions& options);

}  // namespace herald::http
