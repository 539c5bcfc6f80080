// Incremental Server-Sent-Events parser for the load generator (sans-I/O).
//
// It reads the decoded response body line by line and, for each frame, reports whether it was
// an unnamed message (what EventSource.onmessage sees) or a named event (heartbeat, reset, …),
// and the benchmark's "t" (send time, ns) and "s" (sequence) numbers found in its data line.
// Only a line split across reads is copied. Thread rule: one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http_response_parser.h"

namespace herald::bench {

struct SseFrame {
  bool named = false;  // had an `event:` line other than "message"
  bool heartbeat = false;
  bool has_t = false;
  bool has_s = false;
  std::int64_t t = 0;
  std::int64_t s = 0;
};

class SseHandler {
 public:
  virtual void OnFrame(const SseFrame& frame) = 0;

 protected:
  ~SseHandler() = default;
};

class SseParser final : public BodySink {
 public:
  explicit SseParser(SseHandler& handler) : handler_(handler) {}

  void OnBody(std::string_view bytes) override;

  // Forgets a partial line and frame (for a new connection); keeps the last event id.
  void Reset();

  // The last `id:` the stream carried: what a reconnect sends as Last-Event-ID.
  const std::string& last_event_id() const { return last_id_; }
  std::uint64_t body_bytes() const { return body_bytes_; }
  std::uint64_t comments() const { return comments_; }
  bool overflowed() const { return overflowed_; }

 private:
  void Line(std::string_view line);
  void Dispatch();

  SseHandler& handler_;
  std::string partial_;
  std::string last_id_;
  SseFrame frame_;
  bool has_data_ = false;
  bool overflowed_ = false;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t comments_ = 0;
};

// Finds `"key":<integer>` in a JSON text; false when absent or not an integer.
bool FindJsonInt(std::string_view json, std::string_view quoted_key_colon, std::int64_t& out);

}  // namespace herald::bench
