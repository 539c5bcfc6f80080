// How `herald serve` logs (issue 17): text lines as spdlog writes them, or one JSON object a
// line ({"time","level","message"}; the access log's lines carry their fields as members).
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace herald::app {

// Formats a log line as one JSON object: time (RFC 3339, UTC, milliseconds), level, and either
// "message" (the text, escaped) or, for the logger named kAccessLoggerName, the members its
// payload holds (http::FormatAccess with json).
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

inline constexpr const char* kAccessLoggerName = "access";

// Sets the default logger's level and format ("text" or "json") and returns the access logger
// (sharing its sink), or nullptr without `access_log`.
std::shared_ptr<spdlog::logger> ConfigureLogging(const std::string& level,
                                                 const std::string& format, bool access_log);

}  // namespace herald::app
