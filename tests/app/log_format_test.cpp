// `--log-format json`: every line one JSON object (app/log_format.h).
#include "app/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/json/parse.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace herald::app {
namespace {

std::vector<boost::json::object> Lines(const std::string& text) {
  std::vector<boost::json::object> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(boost::json::parse(line).as_object());  // throws on a line that is not JSON
  }
  return lines;
}

TEST(LogFormatTest, JsonLinesCarryTimeLevelAndTheMessageEscaped) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(std::make_unique<JsonLogFormatter>());
  spdlog::logger logger("", sink);
  logger.warn("store \"busy\"\nretrying in {} ms\t\x01", 50);
  const auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  EXPECT_EQ(lines[0].at("level"), "warning");
  EXPECT_EQ(lines[0].at("message"), "store \"busy\"\nretrying in 50 ms\t\x01");
  const std::string time(lines[0].at("time").as_string());
  EXPECT_EQ(time.size(), 24u) << time;  // 2026-12-07T00:33:49.199Z
  EXPECT_EQ(time.back(), 'Z');
}

TEST(LogFormatTest, AccessLinesCarryTheirFieldsAsMembers) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(std::make_unique<JsonLogFormatter>());
  spdlog::logger access(kAccessLoggerName, sink);
  access.info(R"("message":"request","status":200)");
  const auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  EXPECT_EQ(lines[0].at("message"), "request");
  EXPECT_EQ(lines[0].at("status"), 200);
  EXPECT_EQ(lines[0].at("level"), "info");
}

}  // namespace
}  // namespace herald::app
