#include "app/log_format.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include "core/time_format.h"

namespace herald::app {

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  std::string line = R"({"time":")" + FormatRfc3339(msg.time) + R"(","level":")" +
                     std::string(level.data(), level.size()) + "\",";
  if (std::string_view(msg.logger_name.data(), msg.logger_name.size()) == kAccessLoggerName) {
    line += payload;
  } else {
    line += "\"message\":" +
            boost::json::serialize(boost::json::string_view(payload.data(), payload.size()));
  }
  line += "}\n";
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

std::shared_ptr<spdlog::logger> ConfigureLogging(const std::string& level,
                                                 const std::string& format, bool access_log) {
  if (format == "json") {
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    sink->set_formatter(std::make_unique<JsonLogFormatter>());
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("", sink));
  }
  spdlog::set_level(spdlog::level::from_str(level));
  if (!access_log) return nullptr;
  const auto& sinks = spdlog::default_logger()->sinks();
  auto access = std::make_shared<spdlog::logger>(kAccessLoggerName, sinks.begin(), sinks.end());
  access->set_level(spdlog::level::info);
  return access;
}

}  // namespace herald::app
