#include "app/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace herald::app {

namespace {

// 100 years: the store keeps times as milliseconds and the clock as nanoseconds since 1970.
constexpr std::int64_t kMaxRetentionAge = 3'153'600'000;

// HERALD_<FLAG_IN_CAPS>, the environment variable of a flag (spec §9).
std::string EnvName(const std::string& flag) {
  std::string env = "HERALD_";
  for (char c : flag) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return env;
}

// Adds one option with its environment variable.
// An unsigned count refuses a negative number, which CLI11 would otherwise wrap to a huge one
// (found by the config fuzzer: max-connections-per-user = -1).
template <class T>
CLI::Option* Add(CLI::App& command, const std::string& flag, T& value, const std::string& help) {
  CLI::Option* option =
      command.add_option("--" + flag, value, help)->envname(EnvName(flag))->capture_default_str();
  if constexpr (std::is_same_v<T, bool>) option->default_str(value ? "true" : "false");
  if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
    option->check(CLI::Validator(
        [](std::string& text) {
          const auto first = text.find_first_not_of(" \t");
          return first != std::string::npos && text[first] == '-' ? std::string("must be >= 0")
                                                                  : std::string();
        },
        "COUNT"));
  }
  return option;
}

CLI::Option* AddFlag(CLI::App& command, const std::string& flag, bool& value,
                     const std::string& help) {
  return command.add_flag("--" + flag, value, help)->envname(EnvName(flag));
}

// --rate-limit-NAME (per second, 0: no limit) and --rate-limit-NAME-burst.
void AddRateLimit(CLI::App& command, const std::string& name, double& rate, double& burst,
                  const std::string& what) {
  Add(command, "rate-limit-" + name, rate, what + ", per second (0: no limit)");
  Add(command, "rate-limit-" + name + "-burst", burst, what + ", at once");
}

// A TOML value as the flag's text. By the node's own type: toml++'s value<bool>() also reads an
// integer, and std::to_string(double) rounds 1e-7 to "0.000000" (both found by the config
// fuzzer); "{}" writes the shortest text that reads back as the same double.
std::string TomlValueText(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return *node.value<std::string>();
    case toml::node_type::boolean:
      return *node.value<bool>() ? "true" : "false";
    case toml::node_type::integer:
      return std::to_string(*node.value<std::int64_t>());
    case toml::node_type::floating_point:
      return fmt::format("{}", *node.value<double>());
    default:
      throw std::invalid_argument("unsupported value type in the configuration file");
  }
}

// AddServeOptions' groups, in the order --help and check-config list them.
void AddServerOptions(CLI::App& command, ServeConfig& c) {
  Add(command, "listen", c.listen, "Address to listen on, HOST:PORT (port 0 picks a free one)");
  Add(command, "data-dir", c.data_dir, "Directory for the SQLite store and the dev secret");
  AddFlag(command, "dev", c.dev,
          "Development mode: loopback only, a generated secret, prints a token");
  Add(command, "jwt-secret", c.jwt_secret, "HS256 shared secret for verifying tokens");
  Add(command, "jwt-public-key", c.jwt_public_keys,
      "PEM public key file for RS256/ES256, optionally kid=FILE; repeatable");
  Add(command, "jwt-algorithm", c.jwt_algorithm,
      "HS256, RS256 or ES256 (default: HS256 with a secret, else from the key type)");
  Add(command, "jwt-audience", c.jwt_audience, "Required token audience (aud), if set");
  Add(command, "jwt-issuer", c.jwt_issuer, "Required token issuer (iss), if set");
  Add(command, "store", c.store,
      "Event store URL: sqlite:PATH (default <data-dir>/herald.db), memory:, or "
      "postgresql://USER@HOST:PORT/DB for a cluster of hubs sharing one database");
  Add(command, "durability", c.durability,
      "normal: survives a crash of the hub; full: also power loss (fsync per commit)")
      ->check(CLI::IsMember({"normal", "full"}));
}

void AddStreamOptions(CLI::App& command, ServeConfig& c) {
  Add(command, "heartbeat-interval", c.heartbeat_interval,
      "Seconds without a frame before a keep-alive is sent");
  Add(command, "heartbeat-style", c.heartbeat_style,
      "Keep-alive frame: event (event: heartbeat) or comment (:heartbeat)")
      ->check(CLI::IsMember({"event", "comment"}));
  Add(command, "max-connections-per-user", c.max_connections_per_user,
      "Concurrent connections per user per stream");
  Add(command, "threads", c.threads, "I/O threads (shards); 0 means one per core");
  Add(command, "retention-events", c.retention_events, "Events kept per user");
  Add(command, "retention-age", c.retention_age, "Seconds an event is kept");
  Add(command, "max-body-bytes", c.max_body_bytes, "Largest request body accepted");
  Add(command, "contexts-auto-create", c.contexts_auto_create,
      "Create a context when an event names one that does not exist (false: another system owns "
      "contexts; such events are delivered with their context id and create nothing)");
  Add(command, "max-contexts-per-user", c.max_contexts_per_user,
      "Contexts one user may have (past it: creating one through the API is 409; an event naming "
      "a new one is delivered without creating it; 0: no limit)");
  Add(command, "snapshot-max-contexts", c.snapshot_max_contexts,
      "Newest contexts a CONTEXTS_SNAPSHOT lists; it says how many there are in all (0: all)");
  Add(command, "validation", c.validation,
      "compatible: also accept what the original system's back-end publishes (any JSON "
      "TOOL_CALL_RESULT content, lower-case A2A states, null optional fields); strict: AG-UI "
      "1.0 and A2A 1.0 shapes only")
      ->check(CLI::IsMember({"compatible", "strict"}));
  Add(command, "compat-frames", c.compat_frames,
      "Send Herald's named frames `connected` (on open) and `auth_expiring` (false: leave them "
      "out for clients that treat any named event as an error)");
  Add(command, "cors-origin", c.cors_origins,
      "Origin allowed to call Herald from a browser (CORS, credentials included); repeatable; "
      "'*' allows any origin; none by default");
  AddFlag(command, "allow-query-token", c.allow_query_token,
          "Accept ?access_token= (tokens in URLs end up in logs)");
  Add(command, "metrics-auth", c.metrics_auth,
      "Who may read /metrics and /api/v1/metrics/history: token (a bearer token with the "
      "metrics or admin scope) or none (anyone who can reach the hub); default: token, none "
      "with --dev")
      ->check(CLI::IsMember({"token", "none"}));
}

void AddCapacityOptions(CLI::App& command, ServeConfig& c) {
  Add(command, "outbox-max-bytes", c.outbox_max_bytes,
      "Bytes queued to one connection before it is closed as a slow consumer");
  Add(command, "outbox-max-frames", c.outbox_max_frames,
      "Frames queued to one connection before it is closed as a slow consumer");
  Add(command, "max-pending-events", c.max_pending_events,
      "Events accepted but not yet stored before publishes get 503");
  Add(command, "drain-window", c.drain_window,
      "Seconds over which streams are told to reconnect on shutdown");
  Add(command, "response-write-timeout", c.response_write_timeout,
      "Seconds to write one non-stream response before its connection is closed");
  Add(command, "response-bytes-budget", c.response_bytes_budget,
      "Body bytes of non-stream responses being written at once, in all (past it: 503; 0: no "
      "limit)");
  Add(command, "response-bytes-per-user", c.response_bytes_per_user,
      "Body bytes of non-stream responses being written at once to one user, or one client "
      "address without a token (past it: 429; 0: no limit)");
  Add(command, "relay-poll-interval", c.relay_poll_interval,
      "Cluster: seconds between reads of the shared log when no notification arrives");
  Add(command, "relay-listen", c.relay_listen,
      "Cluster: wake the relay with LISTEN/NOTIFY (false: polling alone, for a proxy that "
      "does not pass notifications on)");
  Add(command, "cluster-lease", c.cluster_lease,
      "Cluster: seconds a node that stopped renewing its lease (killed, cut off) still holds its "
      "streams' share of --max-connections-per-user");
}

void AddRateLimitAndLogOptions(CLI::App& command, ServeConfig& c) {
  AddRateLimit(command, "stream-opens", c.rate_limit_stream_opens, c.rate_limit_stream_opens_burst,
               "Stream opens per user");
  AddRateLimit(command, "publishes", c.rate_limit_publishes, c.rate_limit_publishes_burst,
               "Publish requests per user (a batch counts once)");
  AddRateLimit(command, "unauthenticated", c.rate_limit_unauthenticated,
               c.rate_limit_unauthenticated_burst,
               "Stream, publish and other API requests without a valid token per client address");
  AddRateLimit(command, "reads", c.rate_limit_reads, c.rate_limit_reads_burst,
               "Other API requests per user (the contexts API, admin routes)");
  AddRateLimit(command, "context-creates", c.rate_limit_context_creates,
               c.rate_limit_context_creates_burst,
               "Contexts created per user, through the API or by events (past it: the API's "
               "create is 429; an event is delivered without creating one)");
  Add(command, "log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  Add(command, "log-format", c.log_format,
      "text, or json: one JSON object a line (time, level, message; the access log's fields)")
      ->check(CLI::IsMember({"text", "json"}));
  AddFlag(command, "access-log", c.access_log,
          "Log each answered request: method, path (no query), status, duration, body bytes, "
          "request id, user");
  Add(command, "config", c.config_file, "TOML configuration file (flags and HERALD_* win)");
}

// The TOML file's values, for the options no flag or HERALD_* variable set.
void ApplyConfigFile(CLI::App& command, const std::string& file) {
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw std::invalid_argument("cannot read configuration file " + file + ": " +
                                std::string(e.description()));
  }
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    CLI::Option* option = nullptr;
    try {
      option = command.get_option("--" + name);
    } catch (const CLI::OptionNotFound&) {
      throw std::invalid_argument(fmt::format("unknown key '{}' in {}", name, file));
    }
    if (option->count() > 0 || name == "config") continue;  // a flag or HERALD_* won
    if (const auto* array = node.as_array()) {
      if (array->empty()) continue;  // none given: the default (what check-config prints)
      for (const auto& element : *array) option->add_result(TomlValueText(element));
    } else {
      option->add_result(TomlValueText(node));
    }
    option->run_callback();
  }
}

// The bounds of each value, the first broken one thrown. Comparisons are written so that NaN fails
// too; upper bounds keep every duration inside the clocks' range.
void CheckHeartbeat(const ServeConfig& c) {
  if (!(c.heartbeat_interval > 0)) throw std::invalid_argument("--heartbeat-interval must be > 0");
  if (!(c.heartbeat_interval <= 3600)) {
    throw std::invalid_argument("--heartbeat-interval must be at most 3600 seconds");
  }
}

void CheckLimits(const ServeConfig& c) {
  if (c.max_connections_per_user == 0) {
    throw std::invalid_argument("--max-connections-per-user must be > 0");
  }
  if (c.cluster_lease < 1 || c.cluster_lease > 3600) {
    throw std::invalid_argument("--cluster-lease must be between 1 and 3600 seconds");
  }
  if (!(c.relay_poll_interval >= 0.01 && c.relay_poll_interval <= 60)) {
    throw std::invalid_argument("--relay-poll-interval must be between 0.01 and 60 seconds");
  }
  if (c.retention_events == 0) throw std::invalid_argument("--retention-events must be > 0");
  if (c.retention_age <= 0) throw std::invalid_argument("--retention-age must be > 0");
  if (c.retention_age > kMaxRetentionAge) {
    throw std::invalid_argument("--retention-age must be at most 3153600000 seconds (100 years)");
  }
  if (c.max_body_bytes < 1024) throw std::invalid_argument("--max-body-bytes must be >= 1024");
  if (c.threads > 64) throw std::invalid_argument("--threads must be at most 64");
  if (!(c.drain_window >= 0 && c.drain_window <= 3600)) {
    throw std::invalid_argument("--drain-window must be between 0 and 3600 seconds");
  }
  if (!(c.response_write_timeout >= 0.001 && c.response_write_timeout <= 3600)) {
    throw std::invalid_argument("--response-write-timeout must be between 0.001 and 3600 seconds");
  }
  if (c.response_bytes_budget > 0 && c.response_bytes_per_user > c.response_bytes_budget) {
    throw std::invalid_argument(
        "--response-bytes-per-user must not exceed --response-bytes-budget");
  }
}

void CheckRateLimits(const ServeConfig& c) {
  const auto check_rate = [](const char* flag, double rate, double burst) {
    if (!(rate >= 0 && std::isfinite(rate))) {
      throw std::invalid_argument(std::string("--") + flag + " must be >= 0");
    }
    if (rate > 0 && !(burst >= 1 && std::isfinite(burst))) {
      throw std::invalid_argument(std::string("--") + flag + "-burst must be >= 1");
    }
  };
  check_rate("rate-limit-stream-opens", c.rate_limit_stream_opens, c.rate_limit_stream_opens_burst);
  check_rate("rate-limit-publishes", c.rate_limit_publishes, c.rate_limit_publishes_burst);
  check_rate("rate-limit-unauthenticated", c.rate_limit_unauthenticated,
             c.rate_limit_unauthenticated_burst);
  check_rate("rate-limit-reads", c.rate_limit_reads, c.rate_limit_reads_burst);
  check_rate("rate-limit-context-creates", c.rate_limit_context_creates,
             c.rate_limit_context_creates_burst);
}

}  // namespace

void AddServeOptions(CLI::App& command, ServeConfig& c) {
  AddServerOptions(command, c);
  AddStreamOptions(command, c);
  AddCapacityOptions(command, c);
  AddRateLimitAndLogOptions(command, c);
}

void FinishServeConfig(CLI::App& command, ServeConfig& c) {
  if (!c.config_file.empty()) ApplyConfigFile(command, c.config_file);
  // Metrics are open in development mode unless asked otherwise; the effective value is what
  // check-config prints.
  if (CLI::Option* metrics_auth = command.get_option("--metrics-auth");
      metrics_auth->count() == 0) {
    c.metrics_auth = c.dev ? "none" : "token";
    metrics_auth->default_str(c.metrics_auth);
  }
  ParseListen(c.listen);
  CheckHeartbeat(c);
  CheckLimits(c);
  CheckRateLimits(c);
}

std::string EffectiveServeConfig(const CLI::App& command) {
  std::istringstream lines(command.config_to_str(/*default_also=*/true));
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find('=');
    const std::string key = equals == std::string::npos ? "" : line.substr(0, equals);
    if (line.substr(equals + 1) == "\"[]\"") {
      line = key + "=[]";  // a repeatable option given no value: an empty array
    } else if (key == "jwt-secret" && line.substr(equals + 1) != "\"\"") {
      line = key + "=\"<redacted>\"";
    } else if (key == "store") {
      // postgresql://user:password@host/db: the password goes.
      const auto scheme = line.find("://");
      const auto at = line.rfind('@');
      const auto colon = scheme == std::string::npos ? scheme : line.find(':', scheme + 3);
      if (at != std::string::npos && colon != std::string::npos && colon < at) {
        line = line.substr(0, colon + 1) + "<redacted>" + line.substr(at);
      }
    }
    out += line + "\n";
  }
  return out;
}

ListenAddress ParseListen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw std::invalid_argument("--listen must be HOST:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    throw std::invalid_argument("--listen port must be 0-65535, got '" + port_text + "'");
  }
  return {host, static_cast<unsigned short>(port)};
}

}  // namespace herald::app
