// The loopback helpers that match with std::regex, compiled once: <regex> costs seconds of
// compile time in every file that instantiates it, and some thirty tests include these headers.
#include "http/loopback_support.h"

#include <regex>

#include "http/contexts_support.h"

namespace herald::testing {

std::string OpeningCursor(const std::string& frame) {
  static const std::regex kOpening(
      "retry: 2000\n:ok\nid: ([0-9a-f]{8}-(0|[1-9][0-9]*))\nevent: connected\n"
      R"re(data: \{"type":"CONNECTED","connectionId":"[1-9][0-9]*"\}\n\n)re");
  std::smatch match;
  return std::regex_match(frame, match, kOpening) ? match[1].str() : std::string();
}

std::string EventIdOf(const HttpReply& reply) {
  static const std::regex kEventId(R"re("event_id":"([^"]+)")re");
  std::smatch match;
  return std::regex_search(reply.body, match, kEventId) ? match[1].str() : std::string();
}

bool IsRfc3339(const json::value& value) {
  static const std::regex kFormat(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  return value.is_string() && std::regex_match(Str(value), kFormat);
}

bool IsUuidV4(const std::string& text) {
  static const std::regex kUuid(
      R"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})");
  return std::regex_match(text, kUuid);
}

std::int64_t DefaultNameMillis(const json::value& name) {
  static const std::regex kDefault(R"(Conversation (\d{13}))");
  std::smatch match;
  const std::string text = Str(name);
  return std::regex_match(text, match, kDefault) ? std::stoll(match[1].str()) : -1;
}

}  // namespace herald::testing
