// The access log (issue 17, `herald serve --access-log`): one line per answered request, as text
// or as the members of a JSON object (app/log_format.h writes the rest of the object).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"

namespace spdlog {
class logger;
}

namespace herald::http {

struct AccessRecord {
  std::string_view method;
  std::string_view path;  // the target without its query (tokens may travel in it)
  unsigned status = 0;
  std::chrono::steady_clock::duration duration{};  // from the request read to the answer written
  std::string_view request_id;
  const std::optional<UserId>* user = nullptr;  // when the request carried a valid token
  std::size_t body_bytes = 0;
  bool stream = false;  // the answer was a stream's head (duration: until it opened)
};

// "GET /api/v1/stream/agui 200 0.42 ms 0 B id=… user=alice stream"; with `json`, the members
// "message":"request","method":…,"path":…,"status":…,"duration_ms":…,"bytes":…,
// "request_id":…,"user":… (user absent without a token), "stream":true for a stream.
std::string FormatAccess(const AccessRecord& record, bool json);

}  // namespace herald::http
