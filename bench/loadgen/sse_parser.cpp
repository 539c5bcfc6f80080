#include "sse_parser.h"

#include <charconv>

namespace herald::bench {
namespace {

constexpr std::size_t kMaxLine = 1 << 20;

// Splits "field: value" (one optional space after the colon, as EventSource does).
std::string_view FieldValue(std::string_view line, std::size_t colon) {
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

}  // namespace

bool FindJsonInt(std::string_view json, std::string_view quoted_key_colon, std::int64_t& out) {
  const std::size_t at = json.find(quoted_key_colon);
  if (at == std::string_view::npos) return false;
  std::size_t i = at + quoted_key_colon.size();
  while (i < json.size() && json[i] == ' ') ++i;
  const char* first = json.data() + i;
  const char* last = json.data() + json.size();
  return std::from_chars(first, last, out).ec == std::errc{};
}

void SseParser::OnBody(std::string_view bytes) {
  body_bytes_ += bytes.size();
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + bytes.size() > kMaxLine) {
        overflowed_ = true;
        partial_.clear();
      } else {
        partial_.append(bytes);
      }
      return;
    }
    if (partial_.empty()) {
      Line(bytes.substr(0, nl));
    } else {
      partial_.append(bytes.substr(0, nl));
      Line(partial_);
      partial_.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

void SseParser::Line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    Dispatch();
    return;
  }
  if (line.front() == ':') {
    ++comments_;
    return;
  }
  const std::size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  const std::string_view value =
      colon == std::string_view::npos ? std::string_view{} : FieldValue(line, colon);
  if (field == "data") {
    has_data_ = true;
    if (!frame_.has_t) frame_.has_t = FindJsonInt(value, "\"t\":", frame_.t);
    if (!frame_.has_s) frame_.has_s = FindJsonInt(value, "\"s\":", frame_.s);
  } else if (field == "id") {
    last_id_.assign(value);
  } else if (field == "event") {
    if (!value.empty() && value != "message") frame_.named = true;
    if (value == "heartbeat") frame_.heartbeat = true;
  }
  // retry: and unknown fields do not matter to the benchmark.
}

void SseParser::Reset() {
  partial_.clear();
  frame_ = SseFrame{};
  has_data_ = false;
}

void SseParser::Dispatch() {
  if (has_data_) handler_.OnFrame(frame_);
  frame_ = SseFrame{};
  has_data_ = false;
}

}  // namespace herald::bench
