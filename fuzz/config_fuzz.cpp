// Bytes → `herald serve --config FILE.toml`: the bytes written to a file, then the options
// `serve` declares parsed and FinishServeConfig run, as main() does. A refused file is any
// std::exception (main prints it on one line and exits 2); anything else escaping, a crash or a
// sanitizer report is a bug.
//
// Invariants on an accepted file: the values FinishServeConfig promises to have checked hold, and
// the seconds `serve` turns into clock durations (src/app/serve.cpp) are representable there.
// And a file means what its settings mean as flags (spec §9): the file is accepted exactly when
// `herald serve --key=value…` is, every option then given the same values (numbers compared by
// value); a file with a key or value no flag can say (a table, a date) is refused.
#include <toml++/toml.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "fuzz_support.h"

namespace {

namespace app = herald::app;
using herald::fuzz::Require;

// One file per process (libFuzzer's -jobs run several), removed when the process ends.
class ConfigFile {
 public:
  ConfigFile()
      : path_(std::filesystem::temp_directory_path() /
              ("herald-config-fuzz-" + std::to_string(::getpid()) + ".toml")) {}
  ~ConfigFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  ConfigFile(const ConfigFile&) = delete;
  ConfigFile& operator=(const ConfigFile&) = delete;

  const std::string& Write(std::string_view text) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    Require(out.good(), "the configuration file is written");
    return path_.native();
  }

 private:
  std::filesystem::path path_;
};

// serve.cpp turns these seconds into milliseconds with static_cast<std::int64_t>(seconds * 1000):
// an accepted value must survive that cast (NaN, infinities and huge values make it undefined).
bool FitsMilliseconds(double seconds) {
  const double millis = seconds * 1000;
  return millis >= 0 && millis < 9.2e18;
}

void CheckRate(double rate, double burst) {
  Require(rate >= 0 && std::isfinite(rate), "a rate limit is finite and >= 0");
  Require(rate == 0 || (burst >= 1 && std::isfinite(burst)), "a rate limit's burst >= 1");
}

void CheckAccepted(const app::ServeConfig& c) {
  Require(c.heartbeat_interval > 0, "heartbeat interval > 0");
  Require(FitsMilliseconds(c.heartbeat_interval), "heartbeat interval fits in milliseconds");
  Require(c.max_connections_per_user > 0, "connection cap > 0");
  Require(c.cluster_lease >= 1 && c.cluster_lease <= 3600, "cluster lease in [1, 3600]");
  Require(c.relay_poll_interval >= 0.01 && c.relay_poll_interval <= 60,
          "relay poll interval in [0.01, 60]");
  Require(c.retention_events > 0 && c.retention_age > 0, "retention > 0");
  // The store prunes before `now - seconds(retention_age)` on system_clock (nanoseconds).
  Require(c.retention_age <= INT64_MAX / 1'000'000'000, "retention age fits the clock");
  Require(c.max_body_bytes >= 1024, "body limit >= 1024");
  Require(c.threads <= 64, "at most 64 threads");
  Require(c.drain_window >= 0, "drain window >= 0");
  Require(FitsMilliseconds(c.drain_window), "drain window fits in milliseconds");
  Require(c.response_write_timeout >= 0.001 && c.response_write_timeout <= 3600,
          "response write timeout in [0.001, 3600]");
  Require(c.response_bytes_budget == 0 || c.response_bytes_per_user <= c.response_bytes_budget,
          "a user's response bytes within the budget");
  CheckRate(c.rate_limit_stream_opens, c.rate_limit_stream_opens_burst);
  CheckRate(c.rate_limit_publishes, c.rate_limit_publishes_burst);
  CheckRate(c.rate_limit_unauthenticated, c.rate_limit_unauthenticated_burst);
  CheckRate(c.rate_limit_reads, c.rate_limit_reads_burst);
  CheckRate(c.rate_limit_context_creates, c.rate_limit_context_creates_burst);
  // CLI11 reads "-1" into an unsigned option as 2^64 - 1: a count or byte limit past 2^63 is a
  // negative number that was not refused.
  for (const std::uint64_t count :
       {std::uint64_t{c.max_connections_per_user}, std::uint64_t{c.retention_events},
        std::uint64_t{c.max_body_bytes}, std::uint64_t{c.outbox_max_bytes},
        std::uint64_t{c.outbox_max_frames}, std::uint64_t{c.max_pending_events},
        std::uint64_t{c.response_bytes_budget}, std::uint64_t{c.response_bytes_per_user},
        std::uint64_t{c.max_contexts_per_user}, std::uint64_t{c.snapshot_max_contexts}}) {
    Require(count <= static_cast<std::uint64_t>(INT64_MAX), "a count is not a negative number");
  }
  Require(c.validation == "compatible" || c.validation == "strict", "a known validation mode");
  Require(c.durability == "normal" || c.durability == "full", "a known durability");
  Require(c.heartbeat_style == "event" || c.heartbeat_style == "comment", "a known heartbeat");
  app::ParseListen(c.listen);  // checked already: must not throw now
}

// The text a flag would carry for one TOML value: integers and floats in their shortest exact form,
// strings as they are, booleans as true/false; nullopt for what no flag can say (a table, a date,
// a nested array).
std::optional<std::string> FlagText(const toml::node& node) {
  if (const auto* text = node.as_string()) return text->get();
  if (const auto* integer = node.as_integer()) return std::to_string(integer->get());
  if (const auto* number = node.as_floating_point()) {
    char buffer[64];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, number->get()).ptr;
    return std::string(buffer, end);
  }
  if (const auto* boolean = node.as_boolean()) return boolean->get() ? "true" : "false";
  return std::nullopt;
}

// A file's settings as `herald serve` flags (--key=value, repeated for an array).
struct Flags {
  enum Kind {
    kSaid,       // `argv` says what the file says
    kRefused,    // a key names no option, or a value has no flag form: the file must be refused
    kUnsayable,  // a string holds a NUL, which no argv can carry: nothing to compare
  } kind = kSaid;
  std::vector<std::string> argv{"serve"};
};

Flags AsFlags(std::string_view text, CLI::App& command) {
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error&) {
    return {Flags::kRefused, {}};
  }
  Flags flags;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    // --config names another file (ignored inside one); --help is not a setting.
    if (name == "config" || name == "help") continue;
    if (name.find_first_of("= ") != std::string::npos || name.starts_with("-") ||
        command.get_option_no_throw("--" + name) == nullptr) {
      return {Flags::kRefused, {}};
    }
    const toml::array* array = node.as_array();
    if (array != nullptr && array->empty()) return {Flags::kRefused, {}};
    for (std::size_t i = 0; i < (array != nullptr ? array->size() : 1); ++i) {
      const auto flag_text = FlagText(array != nullptr ? *array->get(i) : node);
      if (!flag_text) return {Flags::kRefused, {}};
      if (flag_text->find('\0') != std::string::npos) flags.kind = Flags::kUnsayable;
      // CLI11 reads "--key=" as "--key" and takes the next argument as its value.
      if (flag_text->empty()) {
        flags.argv.insert(flags.argv.end(), {"--" + name, ""});
      } else {
        flags.argv.push_back("--" + name + "=" + *flag_text);
      }
    }
  }
  return flags;
}

// What every option was given, numbers by value (15.5 and "15.500000" alike), the rest as text.
std::vector<std::vector<std::string>> Given(const CLI::App& command) {
  std::vector<std::vector<std::string>> given;
  for (const CLI::Option* option : command.get_options()) {
    if (option->get_name() == "--config" || option->get_name() == "--help") continue;
    std::vector<std::string> values;
    for (const std::string& result : option->results()) {
      char* end = nullptr;
      const double number = std::strtod(result.c_str(), &end);
      if (!result.empty() && end == result.c_str() + result.size()) {
        char buffer[64];
        values.emplace_back(buffer, std::to_chars(buffer, buffer + sizeof buffer, number).ptr);
      } else {
        values.push_back(result);
      }
    }
    given.push_back(std::move(values));
  }
  return given;
}

struct Outcome {
  bool accepted = false;
  std::vector<std::vector<std::string>> given;
};

// The file's settings as flags, parsed and finished as main() does.
Outcome FromFlags(const std::vector<std::string>& flags) {
  CLI::App command{"herald serve"};
  app::ServeConfig config;
  app::AddServeOptions(command, config);
  std::vector<const char*> argv;
  for (const std::string& flag : flags) argv.push_back(flag.c_str());
  try {
    command.parse(static_cast<int>(argv.size()), argv.data());
    app::FinishServeConfig(command, config);
  } catch (const std::exception&) {
    return {};
  }
  CheckAccepted(config);
  return {true, Given(command)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ConfigFile file;
  const std::string_view text = herald::fuzz::AsText(data, size);
  const std::string& path = file.Write(text);

  CLI::App command{"herald serve"};
  app::ServeConfig config;
  app::AddServeOptions(command, config);
  const char* argv[] = {"serve", "--config", path.c_str()};
  command.parse(3, argv);
  Outcome outcome;
  try {
    app::FinishServeConfig(command, config);
    outcome.accepted = true;
  } catch (const std::exception&) {
    // A configuration error: one line on stderr and exit 2 in main().
  }
  if (outcome.accepted) {
    CheckAccepted(config);
    outcome.given = Given(command);
  }
  // A setting means the same in the file as on the command line (spec §9).
  const Flags flags = AsFlags(text, command);
  if (flags.kind == Flags::kRefused) {
    Require(!outcome.accepted, "a file with a key or value no flag can say is refused");
  }
  if (flags.kind != Flags::kSaid) return 0;
  const Outcome same = FromFlags(flags.argv);
  Require(outcome.accepted == same.accepted, "a file is accepted exactly when its flags are");
  Require(!outcome.accepted || outcome.given == same.given, "a file gives what its flags give");
  return 0;
}
