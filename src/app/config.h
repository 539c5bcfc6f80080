// Configuration (spec §8, §9): flags, HERALD_* environment variables and a TOML file, in that
// order of precedence. Parsed once, validated, then passed down as plain option structs.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "http/rate_limits.h"
#include "http/services.h"
#include "hub/outbox.h"

namespace herald::app {

struct ServeConfig {
  std::string listen = "0.0.0.0:8080";
  std::filesystem::path data_dir = "herald-data";
  bool dev = false;
  std::string jwt_secret;
  std::vector<std::string> jwt_public_keys;  // "FILE.pem" or "kid=FILE.pem"
  std::vector<std::string> cors_origins;     // --cors-origin, repeatable; "*" any
  std::string jwt_algorithm;                 // "", "HS256", "RS256", "ES256"
  std::string jwt_audience;
  std::string jwt_issuer;
  std::string store;  // "" means sqlite:<data_dir>/herald.db
  std::string durability = "normal";
  double heartbeat_interval = 15;  // seconds
  std::string heartbeat_style = "event";
  std::size_t max_connections_per_user = 10;
  std::size_t threads = 0;  // 0: one per core
  std::size_t retention_events = 10'000;
  std::int64_t retention_age = 24 * 3600;  // seconds
  std::size_t max_body_bytes = 1024 * 1024;
  bool allow_query_token = false;
  // Who may read /metrics and /api/v1/metrics/history: "token" (the `metrics` or `admin` scope)
  // or "none" (anyone). Not given: "token", or "none" with --dev (FinishServeConfig).
  std::string metrics_auth = "token";
  std::size_t outbox_max_bytes = hub::OutboxLimits{}.max_bytes;
  std::size_t outbox_max_frames = hub::OutboxLimits{}.max_frames;
  std::size_t max_pending_events = 65'536;
  double drain_window = 5;  // seconds
  // Non-stream responses: seconds to write one, and body bytes being written at once by
  // everyone and by one user (0: no limit); defaults from http::HttpOptions.
  double response_write_timeout =
      std::chrono::duration<double>(http::HttpOptions{}.response_write_timeout).count();
  std::size_t response_bytes_budget = http::HttpOptions{}.response_bytes_budget;
  std::size_t response_bytes_per_user = http::HttpOptions{}.response_bytes_per_user;
  // Cluster relay (--store postgresql://…): the polling fallback, and LISTEN/NOTIFY on or off.
  double relay_poll_interval = 1;  // seconds
  bool relay_listen = true;
  bool contexts_auto_create = true;  // false: contexts are owned by another system
  // Contexts per user (0: no cap), and the newest a CONTEXTS_SNAPSHOT lists (0: all).
  std::uint64_t max_contexts_per_user = 10'000;
  std::size_t snapshot_max_contexts = http::HttpOptions{}.snapshot_max_contexts;
  std::string validation = "compatible";  // or "strict"
  bool compat_frames = true;
  // Cluster: seconds a node that stops renewing its lease (killed, cut off) still counts its
  // streams against the per-user cap.
  std::int64_t cluster_lease = 30;
  // Requests per second and burst per key (0: no limit); defaults from http::kDefaultRateLimits.
  double rate_limit_stream_opens = http::kDefaultRateLimits.stream_opens.per_second;
  double rate_limit_stream_opens_burst = http::kDefaultRateLimits.stream_opens.burst;
  double rate_limit_publishes = http::kDefaultRateLimits.publishes.per_second;
  double rate_limit_publishes_burst = http::kDefaultRateLimits.publishes.burst;
  double rate_limit_unauthenticated = http::kDefaultRateLimits.unauthenticated.per_second;
  double rate_limit_unauthenticated_burst = http::kDefaultRateLimits.unauthenticated.burst;
  double rate_limit_reads = http::kDefaultRateLimits.reads.per_second;
  double rate_limit_reads_burst = http::kDefaultRateLimits.reads.burst;
  // Contexts created per user, by the API or by events naming new ones.
  double rate_limit_context_creates = 10;
  double rate_limit_context_creates_burst = 100;
  std::string log_level = "info";
  std::string log_format = "text";  // or "json": one object a line (app/log_format.h)
  bool access_log = false;          // a line per answered request (http/access_log.h)
  std::string config_file;
};

// Declares every `serve` option on `command`, bound to `config`, each with its HERALD_*
// environment variable and its default shown in --help.
void AddServeOptions(CLI::App& command, ServeConfig& config);

// After parsing: fills options given neither as a flag nor in the environment from the TOML
// file named by --config, then validates. Throws std::invalid_argument with a one-line reason.
void FinishServeConfig(CLI::App& command, ServeConfig& config);

// `herald check-config`: the configuration `serve` would run with, as TOML (from flags,
// HERALD_* variables, the --config file and the defaults), with --jwt-secret and the password of
// a --store URL redacted. Call after FinishServeConfig.
std::string EffectiveServeConfig(const CLI::App& command);

struct ListenAddress {
  std::string host;
  unsigned short port = 0;
};
// "HOST:PORT" or "[IPv6]:PORT". Throws std::invalid_argument on anything else.
ListenAddress ParseListen(const std::string& text);

}  // namespace herald::app
