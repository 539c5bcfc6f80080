// `herald serve` options of the per-user limits of issue 14 (non-stream responses, reads,
// contexts): their defaults, parsing, and the one-line reasons that refuse bad values at start-up;
// `herald check-config`: the effective configuration it prints, and what it refuses.
#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "app/serve.h"

namespace herald::app {
namespace {

// `args` parsed by `command` (serve's options, bound to `config`) and finished as main() does.
void ParseAndFinish(CLI::App& command, ServeConfig& config, std::vector<std::string> args) {
  AddServeOptions(command, config);
  args.insert(args.begin(), "herald");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  command.parse(static_cast<int>(argv.size()), argv.data());
  FinishServeConfig(command, config);
}

// `serve ARGS…`.
ServeConfig Parse(std::vector<std::string> args) {
  CLI::App command;
  ServeConfig config;
  ParseAndFinish(command, config, std::move(args));
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

TEST(ConfigTest, MetricsNeedATokenOutsideDevelopmentModeUnlessSaidOtherwise) {
  EXPECT_EQ(Parse({}).metrics_auth, "token");
  EXPECT_EQ(Parse({"--dev"}).metrics_auth, "none");
  EXPECT_EQ(Parse({"--dev", "--metrics-auth", "token"}).metrics_auth, "token");
  EXPECT_EQ(Parse({"--metrics-auth", "none"}).metrics_auth, "none");
  ::setenv("HERALD_METRICS_AUTH", "none", 1);
  const std::string from_env = Parse({}).metrics_auth;
  ::unsetenv("HERALD_METRICS_AUTH");
  EXPECT_EQ(from_env, "none");
}

// CLI11's reason for refusing `args` at parse time ("" when it accepts them).
std::string ParseRefusal(std::vector<std::string> args) {
  try {
    Parse(std::move(args));
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, AMetricsAuthOtherThanTokenOrNoneIsRefusedNamingTheFlag) {
  for (const char* value : {"open", "Token", "", "bearer"}) {
    SCOPED_TRACE(value);
    const std::string reason = ParseRefusal({"--metrics-auth", value});
    EXPECT_NE(reason.find("--metrics-auth"), std::string::npos) << reason;
    EXPECT_NE(reason.find("token"), std::string::npos) << "names the accepted values: " << reason;
  }
}

// The reason for refusing a configuration file holding `toml` ("" when accepted); `out` gets the
// configuration when accepted. CLI11's own refusals propagate; the file is removed either way.
std::string TomlRefusal(const std::string& toml, ServeConfig* out = nullptr) {
  struct File {
    std::filesystem::path path;
    ~File() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  } file{std::filesystem::temp_directory_path() /
         ("herald-config-test-" + std::to_string(::getpid()) + ".toml")};
  std::ofstream(file.path) << toml << "\n";
  std::string reason;
  try {
    const ServeConfig config = Parse({"--config", file.path.string()});
    if (out != nullptr) *out = config;
  } catch (const std::invalid_argument& e) {
    reason = e.what();
  }
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

TEST(ConfigTest, MetricsAuthIsReadFromTheConfigurationFileAndCheckedThere) {
  ServeConfig config;
  ASSERT_EQ(TomlRefusal("dev = true\nmetrics-auth = \"token\"", &config), "");
  EXPECT_EQ(config.metrics_auth, "token") << "the file wins over --dev's default";
  try {
    TomlRefusal("metrics-auth = \"open\"");
    ADD_FAILURE() << "accepted metrics-auth = \"open\"";
  } catch (const CLI::ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("--metrics-auth"), std::string::npos) << e.what();
  }
}

// README and --help: a flag wins over the environment, which wins over the configuration file,
// which wins over the default; a key absent from one source falls through to the next.
TEST(ConfigTest, AFlagBeatsTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("herald-precedence-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "retention-events = 300\nmax-contexts-per-user = 30\n";
  const std::string file = path.string();
  const std::size_t by_default = Parse({}).retention_events;
  ::setenv("HERALD_RETENTION_EVENTS", "200", 1);
  const ServeConfig env_and_file = Parse({"--config", file});
  const ServeConfig flag_env_file = Parse({"--config", file, "--retention-events", "100"});
  ::unsetenv("HERALD_RETENTION_EVENTS");
  const ServeConfig file_only = Parse({"--config", file});
  std::filesystem::remove(path);

  EXPECT_NE(by_default, 100u);
  EXPECT_NE(by_default, 200u);
  EXPECT_NE(by_default, 300u);
  EXPECT_EQ(file_only.retention_events, 300u) << "the file over the default";
  EXPECT_EQ(env_and_file.retention_events, 200u) << "the environment over the file";
  EXPECT_EQ(flag_env_file.retention_events, 100u) << "the flag over both";
  EXPECT_EQ(flag_env_file.max_contexts_per_user, 30u) << "a key only the file has still counts";
}

TEST(ConfigTest, ANegativeCountIsRefusedInsteadOfWrappingToAHugeOne) {
  for (const char* flag : {"--max-connections-per-user", "--threads", "--max-contexts-per-user",
                           "--snapshot-max-contexts", "--response-bytes-budget"}) {
    EXPECT_THROW(Parse({flag, "-1"}), CLI::ValidationError) << flag;
  }
  EXPECT_THROW(TomlRefusal("max-connections-per-user = -1"), CLI::ValidationError);
}

// Every serve option that takes a number or a yes/no, given a value that is neither, as a flag
// and as a configuration-file key: refused, and the one-line reason names the option, so an
// operator knows which line to fix.
TEST(ConfigTest, EveryNumericOrBooleanOptionGivenGarbageIsRefusedNamingIt) {
  CLI::App reference;
  ServeConfig defaults;
  AddServeOptions(reference, defaults);
  int checked = 0;
  for (const CLI::Option* option : reference.get_options()) {
    const std::string type = option->get_type_name();
    if (option->get_name().empty() || option->get_expected_min() == 0 || type == "TEXT") continue;
    const std::string flag = option->get_name();  // "--heartbeat-interval"
    const std::string key = flag.substr(2);
    std::string reason;
    try {
      Parse({flag, "garbage"});
    } catch (const std::exception& e) {
      reason = e.what();
    }
    EXPECT_NE(reason.find(key), std::string::npos) << flag << " (" << type << "): " << reason;
    std::string toml_reason;
    try {
      toml_reason = TomlRefusal(key + " = \"garbage\"");
    } catch (const std::exception& e) {
      toml_reason = e.what();
    }
    EXPECT_NE(toml_reason.find(key), std::string::npos) << key << " in a file: " << toml_reason;
    ++checked;
  }
  EXPECT_GE(checked, 30) << "the options' types changed: look at what this test skips";
}

// `herald check-config ARGS…` as main() runs it, without the process: the printed configuration,
// or the reason it is refused.
std::string CheckConfig(std::vector<std::string> args) {
  CLI::App command;
  ServeConfig config;
  try {
    ParseAndFinish(command, config, std::move(args));
    CheckServeConfig(config);
  } catch (const std::invalid_argument& e) {
    return std::string("refused: ") + e.what();
  }
  return EffectiveServeConfig(command);
}

const std::string kGoodSecret = "0123456789abcdef0123456789abcdef-good";

TEST(CheckConfigTest, PrintsEveryServeOptionWithItsEffectiveValue) {
  const std::string printed = CheckConfig({"--jwt-secret", kGoodSecret, "--threads", "3"});
  EXPECT_NE(printed.find("threads=3\n"), std::string::npos) << printed;
  EXPECT_NE(printed.find("listen=\"0.0.0.0:8080\"\n"), std::string::npos) << "a default";
  EXPECT_NE(printed.find("max-contexts-per-user=10000\n"), std::string::npos);
  EXPECT_NE(printed.find("dev=false\n"), std::string::npos);
  EXPECT_NE(printed.find("compat-frames=true\n"), std::string::npos) << "a bool, not 1";
  EXPECT_NE(printed.find("cors-origin=[]\n"), std::string::npos) << "an array, not a string";
  // One line per option of serve.
  CLI::App command;
  ServeConfig config;
  AddServeOptions(command, config);
  const auto options =
      command.get_options([](const CLI::Option* o) { return o->get_configurable(); });
  std::size_t lines = 0;
  for (const char c : printed) lines += c == '\n' ? 1 : 0;
  EXPECT_EQ(lines, options.size()) << printed;
  for (const CLI::Option* option : options) {
    const std::string key = option->get_single_name() + "=";
    EXPECT_TRUE(printed.rfind(key, 0) == 0 || printed.find("\n" + key) != std::string::npos) << key;
  }
}

TEST(CheckConfigTest, ShowsWhoMayReadTheMetrics) {
  EXPECT_NE(CheckConfig({"--jwt-secret", kGoodSecret}).find("metrics-auth=\"token\"\n"),
            std::string::npos);
  EXPECT_NE(CheckConfig({"--dev"}).find("metrics-auth=\"none\"\n"), std::string::npos)
      << "--dev's default, as serve would run";
  EXPECT_NE(CheckConfig({"--dev", "--metrics-auth", "token"}).find("metrics-auth=\"token\"\n"),
            std::string::npos);
}

TEST(CheckConfigTest, AShortDevSecretsWarningGoesToStderrNotIntoThePrintedConfiguration) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const std::string printed = CheckConfig({"--dev", "--jwt-secret", "short"});
  const std::string out = ::testing::internal::GetCapturedStdout();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find("accepted in --dev only"), std::string::npos) << err;
  EXPECT_EQ(printed.find("accepted in --dev only"), std::string::npos) << printed;
}

TEST(CheckConfigTest, RedactsTheSecretAndTheStorePassword) {
  const std::string printed = CheckConfig(
      {"--jwt-secret", kGoodSecret, "--store", "postgresql://herald:hunter2@db.internal/herald"});
  EXPECT_EQ(printed.find(kGoodSecret), std::string::npos) << printed;
  EXPECT_EQ(printed.find("hunter2"), std::string::npos) << printed;
  EXPECT_NE(printed.find("jwt-secret=\"<redacted>\"\n"), std::string::npos) << printed;
  EXPECT_NE(printed.find("store=\"postgresql://herald:<redacted>@db.internal/herald\"\n"),
            std::string::npos)
      << printed;
  // A URL without a password keeps its port.
  EXPECT_NE(CheckConfig({"--jwt-secret", kGoodSecret, "--store", "postgresql://db:5432/herald"})
                .find("store=\"postgresql://db:5432/herald\"\n"),
            std::string::npos);
}

TEST(CheckConfigTest, ShowsValuesFromTheConfigurationFileAndLetsFlagsWin) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("herald-check-config-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "threads = 5\nretention-events = 77\n";
  const std::string printed =
      CheckConfig({"--jwt-secret", kGoodSecret, "--config", path.string(), "--threads", "2"});
  std::filesystem::remove(path);
  EXPECT_NE(printed.find("retention-events=77\n"), std::string::npos) << printed;
  EXPECT_NE(printed.find("threads=2\n"), std::string::npos) << printed;
}

TEST(CheckConfigTest, ThePrintedConfigurationReadsBackAsAConfigurationFile) {
  const std::string printed =
      CheckConfig({"--dev", "--threads", "3", "--cors-origin", "http://a", "--cors-origin",
                   "http://b", "--compat-frames", "false", "--heartbeat-interval", "2.5"});
  ASSERT_EQ(printed.rfind("refused", 0), std::string::npos) << printed;
  const auto path = std::filesystem::temp_directory_path() /
                    ("herald-check-config-back-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << printed;
  const std::string again = CheckConfig({"--config", path.string()});
  std::filesystem::remove(path);
  // The same, but for the name of the file it was read from.
  EXPECT_EQ(again.substr(0, again.find("config=")), printed.substr(0, printed.find("config=")));
  EXPECT_NE(again.find("threads=3\n"), std::string::npos) << again;
}

TEST(CheckConfigTest, RefusesWhatServeWouldRefuseWithTheSameReason) {
  EXPECT_EQ(CheckConfig({}),
            "refused: no token key configured: pass --jwt-secret, --jwt-public-key, or --dev");
  EXPECT_EQ(CheckConfig({"--jwt-secret", "short"}).rfind("refused: --jwt-secret is 5 bytes", 0),
            0u);
  EXPECT_EQ(CheckConfig({"--jwt-secret", kGoodSecret, "--listen", "nowhere"}),
            "refused: --listen must be HOST:PORT, got 'nowhere'");
  EXPECT_EQ(CheckConfig({"--jwt-public-key", "/nonexistent/key.pem"}),
            "refused: cannot read /nonexistent/key.pem");
  EXPECT_EQ(CheckConfig({"--jwt-secret", kGoodSecret, "--threads", "65"}),
            "refused: --threads must be at most 64");
}

TEST(CheckConfigTest, DevModeIsCheckedWithoutCreatingTheDataDirectoryOrItsSecret) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("herald-check-config-dev-" + std::to_string(::getpid()));
  const std::string printed = CheckConfig({"--dev", "--data-dir", dir.string()});
  EXPECT_EQ(printed.rfind("refused", 0), std::string::npos) << printed;
  EXPECT_NE(printed.find("dev=true\n"), std::string::npos) << printed;
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace herald::app
