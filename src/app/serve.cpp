#include "app/serve.h"

#include <fmt/format.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "app/composition.h"
#include "app/dashboard.h"
#include "app/log_format.h"
#include "auth/dev_secret.h"
#include "auth/minter.h"
#include "auth/verifier.h"
#include "core/clock.h"
#include "http/batch_handler.h"

namespace herald::app {

static_assert(hub::OutboxLimits{}.max_frames >= http::kMaxBatchItems,
              "one batch publish must fit in an empty outbox under the default bounds");

namespace {

constexpr std::size_t kMinHs256SecretBytes = 32;

using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

std::optional<auth::Algorithm> ParseAlgorithm(const std::string& name) {
  if (name == "HS256") return auth::Algorithm::kHs256;
  if (name == "RS256") return auth::Algorithm::kRs256;
  if (name == "ES256") return auth::Algorithm::kEs256;
  return std::nullopt;
}

// RS256 when the configured keys are RSA keys, else ES256: the verifier refuses keys of the
// other kind, and then reports why for the ES256 attempt.
auth::Algorithm KeyAlgorithm(auth::VerifierConfig v) {
  try {
    v.algorithm = auth::Algorithm::kRs256;
    const auth::Verifier probe(std::move(v));
    return auth::Algorithm::kRs256;
  } catch (const std::invalid_argument&) {
    return auth::Algorithm::kEs256;
  }
}

// --jwt-public-key's "FILE.pem" or "kid=FILE.pem", each file read into `v` under its kid ("" for
// none).
void ReadPublicKeys(const std::vector<std::string>& specs, auth::VerifierConfig& v) {
  for (const std::string& spec : specs) {
    const auto equals = spec.find('=');
    const std::string kid = equals == std::string::npos ? "" : spec.substr(0, equals);
    const std::string file = equals == std::string::npos ? spec : spec.substr(equals + 1);
    v.public_keys_pem[kid] = ReadFile(file);
  }
}

// The algorithm of public keys (in `v`): --jwt-algorithm's, RS256 or ES256, when given, else the
// keys' own kind.
auth::Algorithm PublicKeyAlgorithm(const std::string& jwt_algorithm,
                                   const auth::VerifierConfig& v) {
  if (jwt_algorithm.empty()) return KeyAlgorithm(v);
  auto algorithm = ParseAlgorithm(jwt_algorithm);
  if (!algorithm || *algorithm == auth::Algorithm::kHs256) {
    throw std::invalid_argument("--jwt-algorithm must be RS256 or ES256 with a public key");
  }
  return *algorithm;
}

// --jwt-secret, refused when short outside --dev (issue 14): a shorter secret can be guessed from
// one token.
void CheckHs256Secret(const std::string& secret, bool dev) {
  if (secret.size() >= kMinHs256SecretBytes) return;
  const std::string why = fmt::format(
      "--jwt-secret is {} bytes: HS256 wants at least {} (256 bits, RFC 7518 section 3.2), "
      "or it can be guessed from one token; make one with: openssl rand -hex 32",
      secret.size(), kMinHs256SecretBytes);
  if (!dev) throw std::invalid_argument(why);
  spdlog::warn("{} (accepted in --dev only)", why);
}

// The HS256 secret: --jwt-secret, else with --dev the development secret (read or created in the
// data directory, or with `check_only` a stand-in that touches no file, and kept in
// `dev_secret`).
std::string Hs256Secret(const ServeConfig& c, std::string& dev_secret, bool check_only) {
  if (!c.jwt_secret.empty()) {
    CheckHs256Secret(c.jwt_secret, c.dev);
    return c.jwt_secret;
  }
  if (!c.dev) {
    throw std::invalid_argument(
        "no token key configured: pass --jwt-secret, --jwt-public-key, or --dev");
  }
  dev_secret =
      check_only ? std::string(kMinHs256SecretBytes, 'x') : auth::LoadOrCreateDevSecret(c.data_dir);
  return dev_secret;
}

// The verifier's configuration from --jwt-* flags, or the development secret with --dev (read
// or created in the data directory; with `check_only`, a stand-in that touches no file). The
// Verifier built from it (the composition root's) checks the keys themselves.
auth::VerifierConfig MakeVerifierConfig(const ServeConfig& c, std::string& dev_secret,
                                        bool check_only = false) {
  auth::VerifierConfig v;
  v.audience = c.jwt_audience;
  v.issuer = c.jwt_issuer;
  if (!c.jwt_secret.empty() && !c.jwt_public_keys.empty()) {
    throw std::invalid_argument("give either --jwt-secret or --jwt-public-key, not both");
  }
  if (!c.jwt_public_keys.empty()) {
    ReadPublicKeys(c.jwt_public_keys, v);
    v.algorithm = PublicKeyAlgorithm(c.jwt_algorithm, v);
    return v;
  }
  if (!c.jwt_algorithm.empty() && c.jwt_algorithm != "HS256") {
    throw std::invalid_argument("--jwt-algorithm " + c.jwt_algorithm + " needs --jwt-public-key");
  }
  v.algorithm = auth::Algorithm::kHs256;
  v.hs256_secret = Hs256Secret(c, dev_secret, check_only);
  return v;
}

store::StoreOptions MakeStoreOptions(const ServeConfig& c) {
  store::StoreOptions options;
  options.url = c.store.empty() ? "sqlite:" + (c.data_dir / "herald.db").string() : c.store;
  options.durability =
      c.durability == "full" ? store::Durability::kFull : store::Durability::kNormal;
  return options;
}

hub::HubOptions MakeHubOptions(const ServeConfig& c) {
  hub::HubOptions options;
  // One per core, but never past the 64 shards that --threads allows and Metrics has room for.
  options.threads =
      c.threads == 0 ? std::min(64u, std::max(1u, std::thread::hardware_concurrency())) : c.threads;
  options.max_connections_per_user = c.max_connections_per_user;
  options.outbox.max_bytes = c.outbox_max_bytes;
  options.outbox.max_frames = c.outbox_max_frames;
  options.publisher.max_pending_events = c.max_pending_events;
  options.publisher.retention.max_events_per_user = c.retention_events;
  options.publisher.retention.max_age = std::chrono::seconds(c.retention_age);
  options.publisher.contexts_auto_create = c.contexts_auto_create;
  options.publisher.max_contexts_per_user = c.max_contexts_per_user;
  options.publisher.context_creates = {c.rate_limit_context_creates,
                                       c.rate_limit_context_creates_burst};
  options.relay.poll_interval =
      std::chrono::milliseconds(static_cast<std::int64_t>(c.relay_poll_interval * 1000));
  options.relay.listen = c.relay_listen;
  options.cluster_lease = std::chrono::seconds(c.cluster_lease);
  return options;
}

http::HttpOptions MakeHttpOptions(const ServeConfig& c) {
  http::HttpOptions options;
  options.max_body_bytes = c.max_body_bytes;
  options.allow_query_token = c.allow_query_token;
  options.metrics_require_token = c.metrics_auth != "none";
  options.cors_origins = c.cors_origins;
  options.heartbeat_interval =
      std::chrono::milliseconds(static_cast<std::int64_t>(c.heartbeat_interval * 1000));
  options.validation =
      c.validation == "strict" ? ValidationMode::kStrict : ValidationMode::kCompatible;
  options.compat_frames = c.compat_frames;
  options.heartbeat_style = c.heartbeat_style == "comment" ? http::HeartbeatStyle::kComment
                                                           : http::HeartbeatStyle::kEvent;
  options.drain_window =
      std::chrono::milliseconds(static_cast<std::int64_t>(c.drain_window * 1000));
  options.response_write_timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(c.response_write_timeout * 1000));
  options.response_bytes_budget = c.response_bytes_budget;
  options.response_bytes_per_user = c.response_bytes_per_user;
  options.snapshot_max_contexts = c.snapshot_max_contexts;
  options.rate_limits = {
      .stream_opens = {c.rate_limit_stream_opens, c.rate_limit_stream_opens_burst},
      .publishes = {c.rate_limit_publishes, c.rate_limit_publishes_burst},
      .unauthenticated = {c.rate_limit_unauthenticated, c.rate_limit_unauthenticated_burst},
      .reads = {c.rate_limit_reads, c.rate_limit_reads_burst},
  };
  return options;
}

#ifdef __GLIBC__
constexpr int kMmapThreshold = 128 * 1024;
#endif

std::string UrlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// What the process sets before it opens anything.
void SetUpProcess() {
  // Everything the hub creates (the data directory, the database and its WAL) holds users'
  // events: readable by the hub's own user only (0700 directories, 0600 files).
  ::umask(0077);
#ifdef __GLIBC__
  // Blocks of 128 KiB and more (request and response bodies, batch parse trees) are mapped on
  // their own and unmapped when freed. glibc otherwise raises this threshold after each such
  // block is freed and serves later ones from the thread arenas, where a burst leaves memory
  // it cannot give back: docs/DECISIONS.md "Limits", bench/attack_replay.py.
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
#endif
}

// Blocks this (main) thread until SIGTERM or SIGINT; returns the signal.
int WaitForSignal() {
  boost::asio::io_context signals_context;
  boost::asio::signal_set signals(signals_context, SIGTERM, SIGINT);
  int received = 0;
  signals.async_wait([&received](boost::system::error_code ec, int signal) {
    if (!ec) received = signal;
  });
  signals_context.run();
  return received;
}

}  // namespace

void CheckServeConfig(const ServeConfig& config) {
  // Its warnings (a short --dev secret) go to stderr: stdout carries the effective
  // configuration, which must read back as a configuration file.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "check-config", std::make_shared<spdlog::sinks::stderr_color_sink_st>()));
  ParseListen(config.listen);
  std::string dev_secret;
  const auth::Verifier verifier(MakeVerifierConfig(config, dev_secret, /*check_only=*/true));
}

int Serve(const ServeConfig& config) {
  const auto access_log = ConfigureLogging(config.log_level, config.log_format, config.access_log);
  const bool json_logs = config.log_format == "json";
  // The start-up lines: plain text, or JSON log lines with --log-format json.
  const auto announce = [json_logs](const std::string& line) {
    if (json_logs) {
      spdlog::info("{}", line);
    } else {
      std::cout << line << std::endl;
    }
  };
  SetUpProcess();

  ListenAddress listen = ParseListen(config.listen);
  if (config.dev) {
    // Development mode listens on loopback only (spec §2).
    const auto address = boost::asio::ip::make_address(listen.host);
    if (!address.is_loopback()) listen.host = "127.0.0.1";
    std::filesystem::create_directories(config.data_dir);
  } else if (config.store.empty()) {
    std::filesystem::create_directories(config.data_dir);
  }

  std::string dev_secret;
  NodeOptions options{.store = MakeStoreOptions(config),
                      .verifier = MakeVerifierConfig(config, dev_secret),
                      .hub = MakeHubOptions(config),
                      .http = MakeHttpOptions(config),
                      .listen = {boost::asio::ip::make_address(listen.host), listen.port},
                      .dashboard_html = std::string(kDashboardHtml),
                      .clock = &SystemClock()};
  options.http.access_log = access_log;
  options.http.access_log_json = json_logs;
  Node node(std::move(options));
  node.Start();

  const auto bound = node.local_endpoint();
  const std::string url =
      fmt::format("http://{}:{}", UrlHost(bound.address().to_string()), bound.port());
  announce("herald listening on " + url);
  // Signed with the development secret, or with --jwt-secret when one was given with --dev (a
  // public key mints nothing: its tokens come from whoever holds the private key).
  const std::string& dev_token_secret = dev_secret.empty() ? config.jwt_secret : dev_secret;
  if (config.dev && !dev_token_secret.empty()) {
    const std::string token = auth::MintHs256(dev_token_secret, "dev-user", "events:publish admin",
                                              24h, node.clock().Now());
    announce("development mode: token for user dev-user (24 h, events:publish admin):\n" + token);
    announce("dashboard: " + url + "/#token=" + token);
  }

  // Drain (spec §6): stop accepting, tell streams to come back over the window, store what
  // was acknowledged, exit.
  spdlog::info("signal {} received: draining", WaitForSignal());
  node.Drain();
  spdlog::info("drained; exiting");
  return 0;
}

}  // namespace herald::app
