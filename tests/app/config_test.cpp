// `herald serve` options of the per-user limits of issue 14 (non-stream responses, reads,
// contexts): their defaults, parsing, and the one-line reasons that refuse bad values at start-up.
#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace herald::app {
namespace {

// `serve ARGS…` parsed and finished as main() does.
ServeConfig Parse(std::vector<std::string> args) {
  CLI::App command;
  ServeConfig config;
  AddServeOptions(command, config);
  args.insert(args.begin(), "serve");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  command.parse(static_cast<int>(argv.size()), argv.data());
  FinishServeConfig(command, config);
  return config;
}

// The reason FinishServeConfig gives for refusing `args` ("" when it accepts them).
std::string Refusal(std::vector<std::string> args) {
  try {
    Parse(std::move(args));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, ResponseLimitsAndTheReadRateLimitDefaultToTheDocumentedValues) {
  const ServeConfig config = Parse({});
  EXPECT_EQ(config.response_write_timeout, 30.0);
  EXPECT_EQ(config.response_bytes_budget, 64u * 1024 * 1024);
  EXPECT_EQ(config.response_bytes_per_user, 8u * 1024 * 1024);
  EXPECT_EQ(config.rate_limit_reads, 50.0);
  EXPECT_EQ(config.rate_limit_reads_burst, 100.0);
}

TEST(ConfigTest, ResponseLimitAndReadRateFlagsAreParsed) {
  const ServeConfig config = Parse({"--response-write-timeout", "2.5", "--response-bytes-budget",
                                    "1000000", "--response-bytes-per-user", "1000",
                                    "--rate-limit-reads", "5", "--rate-limit-reads-burst", "7"});
  EXPECT_EQ(config.response_write_timeout, 2.5);
  EXPECT_EQ(config.response_bytes_budget, 1'000'000u);
  EXPECT_EQ(config.response_bytes_per_user, 1'000u);
  EXPECT_EQ(config.rate_limit_reads, 5.0);
  EXPECT_EQ(config.rate_limit_reads_burst, 7.0);
}

TEST(ConfigTest, ZeroTurnsTheBytesLimitsAndTheReadRateLimitOff) {
  EXPECT_EQ(Refusal({"--response-bytes-budget", "0", "--response-bytes-per-user", "1000"}), "");
  EXPECT_EQ(Refusal({"--response-bytes-per-user", "0"}), "");
  EXPECT_EQ(Refusal({"--rate-limit-reads", "0", "--rate-limit-reads-burst", "0"}), "");
}

TEST(ConfigTest, BadResponseLimitsAndReadRatesAreRefusedWithAOneLineReason) {
  EXPECT_EQ(Refusal({"--response-write-timeout", "0"}),
            "--response-write-timeout must be between 0.001 and 3600 seconds");
  EXPECT_EQ(Refusal({"--response-write-timeout", "-1"}),
            "--response-write-timeout must be between 0.001 and 3600 seconds");
  EXPECT_EQ(Refusal({"--response-write-timeout", "3601"}),
            "--response-write-timeout must be between 0.001 and 3600 seconds");
  EXPECT_EQ(Refusal({"--response-bytes-budget", "1000", "--response-bytes-per-user", "1001"}),
            "--response-bytes-per-user must not exceed --response-bytes-budget");
  EXPECT_EQ(Refusal({"--rate-limit-reads", "-1"}), "--rate-limit-reads must be >= 0");
  EXPECT_EQ(Refusal({"--rate-limit-reads", "5", "--rate-limit-reads-burst", "0.5"}),
            "--rate-limit-reads-burst must be >= 1");
}

TEST(ConfigTest, ContextLimitsDefaultToTheDocumentedValuesAndTheirFlagsAreParsed) {
  const ServeConfig defaults = Parse({});
  EXPECT_EQ(defaults.max_contexts_per_user, 10'000u);
  EXPECT_EQ(defaults.snapshot_max_contexts, 1'000u);
  EXPECT_EQ(defaults.rate_limit_context_creates, 10.0);
  EXPECT_EQ(defaults.rate_limit_context_creates_burst, 100.0);
  const ServeConfig config =
      Parse({"--max-contexts-per-user", "0", "--snapshot-max-contexts", "50",
             "--rate-limit-context-creates", "2", "--rate-limit-context-creates-burst", "3"});
  EXPECT_EQ(config.max_contexts_per_user, 0u);
  EXPECT_EQ(config.snapshot_max_contexts, 50u);
  EXPECT_EQ(config.rate_limit_context_creates, 2.0);
  EXPECT_EQ(config.rate_limit_context_creates_burst, 3.0);
  EXPECT_EQ(
      Refusal({"--rate-limit-context-creates", "1", "--rate-limit-context-creates-burst", "0"}),
      "--rate-limit-context-creates-burst must be >= 1");
}

// The reason for refusing a configuration file holding `toml` ("" when accepted); `out` gets the
// configuration when accepted.
std::string TomlRefusal(const std::string& toml, ServeConfig* out = nullptr) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("herald-config-test-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << toml << "\n";
  std::string reason;
  try {
    const ServeConfig config = Parse({"--config", path.string()});
    if (out != nullptr) *out = config;
  } catch (const std::invalid_argument& e) {
    reason = e.what();
  }
  std::filesystem::remove(path);
  return reason;
}

// Found by the config fuzzer (fuzz/regressions/config/).
TEST(ConfigTest, TomlValuesAreReadByTheirOwnTypeWithoutRounding) {
  ServeConfig config;
  ASSERT_EQ(TomlRefusal("threads = 4\nretention-age = 3600", &config), "");
  EXPECT_EQ(config.threads, 4u) << "an integer is not read as the boolean true";
  EXPECT_EQ(config.retention_age, 3600);
  ASSERT_EQ(TomlRefusal("rate-limit-reads = 0.0000001\nheartbeat-interval = 2.5", &config), "");
  EXPECT_EQ(config.rate_limit_reads, 1e-7) << "not rounded to 0.000000";
  EXPECT_EQ(config.heartbeat_interval, 2.5);
}

TEST(ConfigTest, NonFiniteAndOutOfRangeDurationsAndRatesAreRefused) {
  EXPECT_EQ(TomlRefusal("heartbeat-interval = nan"), "--heartbeat-interval must be > 0");
  EXPECT_EQ(TomlRefusal("heartbeat-interval = 1e300"),
            "--heartbeat-interval must be at most 3600 seconds");
  EXPECT_EQ(TomlRefusal("drain-window = inf"), "--drain-window must be between 0 and 3600 seconds");
  EXPECT_EQ(TomlRefusal("relay-poll-interval = nan"),
            "--relay-poll-interval must be between 0.01 and 60 seconds");
  EXPECT_EQ(TomlRefusal("retention-age = 10000000000"),
            "--retention-age must be at most 3153600000 seconds (100 years)");
  EXPECT_EQ(TomlRefusal("rate-limit-publishes = inf"), "--rate-limit-publishes must be >= 0");
  EXPECT_EQ(TomlRefusal("rate-limit-publishes-burst = inf"),
            "--rate-limit-publishes-burst must be >= 1");
}

TEST(ConfigTest, ANegativeCountIsRefusedInsteadOfWrappingToAHugeOne) {
  for (const char* flag : {"--max-connections-per-user", "--threads", "--max-contexts-per-user",
                           "--snapshot-max-contexts", "--response-bytes-budget"}) {
    EXPECT_THROW(Parse({flag, "-1"}), CLI::ValidationError) << flag;
  }
  EXPECT_THROW(TomlRefusal("max-connections-per-user = -1"), CLI::ValidationError);
}

}  // namespace
}  // namespace herald::app
