#include "core/event.h"

namespace herald {

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kAgui:
      return "agui";
    case Protocol::kA2a:
      return "a2a";
    case Protocol::kSystem:
      return "system";
  }
  return "unknown";
}

std::optional<Protocol> ParseProtocol(std::string_view name) {
  if (name == "agui") return Protocol::kAgui;
  if (name == "a2a") return Protocol::kA2a;
  if (name == "system") return Protocol::kSystem;
  return std::nullopt;
}

std::string_view StreamName(Stream stream) {
  switch (stream) {
    case Stream::kAgui:
      return "agui";
    case Stream::kA2a:
      return "a2a";
    case Stream::kContexts:
      return "contexts";
  }
  return "unknown";
}

std::optional<Stream> PrimaryStream(Protocol protocol) {
  switch (protocol) {
    case Protocol::kAgui:
      return Stream::kAgui;
    case Protocol::kA2a:
      return Stream::kA2a;
    case Protocol::kSystem:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace herald
