// Shared helpers of the loopback tests: publish bodies, bounded polling, metric scraping and an
// incremental frame reader for high-volume streams.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/test_client.h"
#include "support/test_hub.h"

namespace herald::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr char kAguiStream[] = "/api/v1/stream/agui";
inline constexpr char kA2aStream[] = "/api/v1/stream/a2a";
inline constexpr char kContextsStream[] = "/api/v1/stream/contexts";
inline constexpr char kAguiWebhook[] = "/api/v1/webhook/agui";
inline constexpr char kA2aWebhook[] = "/api/v1/webhook/a2a";
inline constexpr char kPreamble[] = "retry: 2000\n:ok\n\n";

// The cursor a fresh agui/a2a stream opens with: the preamble and, in the same block, the named
// `connected` event whose id is the user's position ("<history>-0" before any event). "" when
// `frame` is not such an opening.
std::string OpeningCursor(const std::string& frame);

// The first block of a stream: the plain preamble, or a fresh agui/a2a stream's with its cursor.
inline bool IsOpening(const std::string& frame) {
  return frame == kPreamble || !OpeningCursor(frame).empty();
}

inline Headers AuthAs(const std::string& user, const std::string& scope = "") {
  return {{"Authorization", TestHub::Bearer(user, scope)}};
}

inline Headers JsonAuthAs(const std::string& user, const std::string& scope = "") {
  return {{"Authorization", TestHub::Bearer(user, scope)}, {"Content-Type", "application/json"}};
}

// A TEXT_MESSAGE_CONTENT webhook body for `user` (no timestamp unless given).
inline std::string AguiText(const std::string& user, const std::string& message_id,
                            const std::string& delta, const std::string& timestamp = "") {
  std::string body = R"({"user_id":")" + user + R"(","type":"TEXT_MESSAGE_CONTENT","messageId":")" +
                     message_id + R"(","delta":")" + delta + "\"";
  if (!timestamp.empty()) body += R"(,"timestamp":)" + timestamp;
  return body + "}";
}

// The bare event JSON the hub delivers for AguiText(…, timestamp) (timestamp given).
inline std::string AguiTextJson(const std::string& message_id, const std::string& delta,
                                const std::string& timestamp) {
  return R"({"type":"TEXT_MESSAGE_CONTENT","messageId":")" + message_id + R"(","delta":")" + delta +
         R"(","timestamp":)" + timestamp + "}";
}

inline HttpReply PublishAgui(unsigned short port, const std::string& user,
                             const std::string& body) {
  return Request(port, "POST", kAguiWebhook, JsonAuthAs(user), body);
}

// The event_id of a successful publish reply ("" when absent).
std::string EventIdOf(const HttpReply& reply);

// The exact success body of a webhook publish.
inline std::string BroadcastedBody(std::size_t connections, const std::string& event_id) {
  return R"({"status":"broadcasted","connection_count":)" + std::to_string(connections) +
         R"(,"event_id":")" + event_id + "\"}";
}

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, bounded
  }
  return true;
}

// The value of the sample `series` (e.g. `herald_queued_bytes` or
// `herald_disconnects_total{reason="slow_consumer"}`) in Prometheus text, or nullopt.
inline std::optional<double> MetricValue(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return std::nullopt;
}

// Scrapes /metrics as Prometheus would, with a token of the `metrics` scope.
inline std::optional<double> ScrapeMetric(unsigned short port, const std::string& series) {
  const HttpReply reply = Request(port, "GET", "/metrics", AuthAs("prometheus", "metrics"));
  if (reply.status != 200) return std::nullopt;
  return MetricValue(reply.body, series);
}

// Takes complete frames off a connection as they arrive, without keeping what was taken: for
// streams that carry megabytes (SseStream keeps and re-splits its whole body).
// Reads a stream's frames one at a time, from the opening on; readers of one stream share its
// cursor (WaitFrames does not move it).
class FrameReader {
 public:
  explicit FrameReader(SseStream& stream) : stream_(stream) {}

  // The next complete frame (with its "\n\n"), or nullopt on EOF or after `timeout`.
  std::optional<std::string> Next(std::chrono::milliseconds timeout) {
    return stream_.NextFrame(timeout);
  }

 private:
  SseStream& stream_;
};

}  // namespace herald::testing
