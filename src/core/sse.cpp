#include "core/sse.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cassert>

namespace herald::sse {

namespace {

[[maybe_unused]] bool IsSingleLine(std::string_view text) {
  return text.find('\n') == std::string_view::npos && text.find('\r') == std::string_view::npos;
}

void AppendWrapped(std::string& out, Protocol protocol, std::string_view event_json) {
  out.append(R"({"protocol":")").append(ProtocolName(protocol)).append(R"(","event":)");
  out.append(event_json).push_back('}');
}

}  // namespace

std::string DataFrame(std::string_view id, std::string_view json) {
  assert(IsSingleLine(json) && IsSingleLine(id));
  std::string frame;
  frame.reserve(id.size() + json.size() + 16);
  frame.append("id: ").append(id).push_back('\n');
  frame.append("data: ").append(json).append("\n\n");
  return frame;
}

std::string WrapEvent(Protocol protocol, std::string_view event_json) {
  std::string out;
  out.reserve(event_json.size() + 32);
  AppendWrapped(out, protocol, event_json);
  return out;
}

void AppendEventFrame(std::string& out, EventId id, Protocol protocol, std::string_view json,
                      bool wrapped) {
  assert(IsSingleLine(json));
  out.append("id: ");
  AppendEventId(out, id);
  out.append("\ndata: ");
  if (wrapped) {
    AppendWrapped(out, protocol, json);
  } else {
    out.append(json);
  }
  out.append("\n\n");
}

std::string Preamble(std::chrono::milliseconds retry, std::string_view comment) {
  assert(IsSingleLine(comment));
  return fmt::format("retry: {}\n:{}\n\n", retry.count(), comment);
}

std::string PositionPreamble(std::chrono::milliseconds retry, std::string_view comment,
                             std::string_view id) {
  assert(IsSingleLine(comment) && IsSingleLine(id));
  return fmt::format("retry: {}\n:{}\nid: {}\n\n", retry.count(), comment, id);
}

std::string ConnectedPreamble(std::chrono::milliseconds retry, std::string_view comment,
                              std::string_view id, std::uint64_t connection_id) {
  assert(IsSingleLine(comment) && IsSingleLine(id));
  return fmt::format(
      "retry: {}\n:{}\nid: {}\nevent: connected\n"
      "data: {{\"type\":\"CONNECTED\",\"connectionId\":\"{}\"}}\n\n",
      retry.count(), comment, id, connection_id);
}

std::string ResetFrame(std::string_view id, std::string_view reason) {
  assert(IsSingleLine(id));
  const std::string payload = fmt::format(R"({{"type":"STREAM_RESET","reason":{}}})",
                                          boost::json::serialize(boost::json::string(reason)));
  return fmt::format("id: {}\n{}", id, NamedFrame("reset", payload));
}

std::string NamedFrame(std::string_view event, std::string_view json) {
  assert(IsSingleLine(event) && IsSingleLine(json));
  return fmt::format("event: {}\ndata: {}\n\n", event, json);
}

std::string RetryFrame(std::chrono::milliseconds retry) {
  return fmt::format("retry: {}\n\n", retry.count());
}

}  // namespace herald::sse
