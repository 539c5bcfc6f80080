#include "options.h"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <map>

namespace herald::bench {

const char* ToString(TargetKind kind) { return kind == TargetKind::kHerald ? "herald" : "nchan"; }

const char* ToString(Scenario scenario) {
  switch (scenario) {
    case Scenario::kIdle:
      return "idle";
    case Scenario::kFanout:
      return "fanout";
    case Scenario::kLatency:
      return "latency";
    case Scenario::kPublish:
      return "publish";
    case Scenario::kStorm:
      return "storm";
  }
  return "?";
}

ParseResult ParseOptions(int argc, char** argv) {
  Options o;
  CLI::App app{
      "Herald end-to-end load generator: SSE subscribers and HTTP publishers against Herald or "
      "nginx+nchan on the loopback interface."};
  const std::map<std::string, TargetKind> targets{{"herald", TargetKind::kHerald},
                                                  {"nchan", TargetKind::kNchan}};
  const std::map<std::string, Scenario> scenarios{{"idle", Scenario::kIdle},
                                                  {"fanout", Scenario::kFanout},
                                                  {"latency", Scenario::kLatency},
                                                  {"publish", Scenario::kPublish},
                                                  {"storm", Scenario::kStorm}};
  app.add_option("--target", o.target, "herald or nchan")
      ->required()
      ->transform(CLI::CheckedTransformer(targets, CLI::ignore_case));
  app.add_option("--scenario", o.scenario,
                 "idle, fanout, latency, publish or storm (every stream drops, its user's "
                 "--events are published meanwhile, the server is restarted, then every stream "
                 "reconnects at once with Last-Event-ID)")
      ->required()
      ->transform(CLI::CheckedTransformer(scenarios, CLI::ignore_case));
  app.add_option("--host", o.host, "server address; loopback only")->capture_default_str();
  app.add_option("--port", o.port, "server port")->required()->check(CLI::Range(1, 65535));
  app.add_option("--publish-port", o.publish_port,
                 "publish to this port instead (another node of a Herald cluster)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--label", o.label, "free text copied into the JSON line");
  app.add_option("--tag", o.tags, "key=value copied into the report (repeatable)")
      ->check([](const std::string& tag) {
        return tag.find('=') == std::string::npos ? std::string("expected key=value")
                                                  : std::string();
      });
  app.add_option("--users", o.users, "distinct users (one channel each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--per-user", o.per_user, "subscriber connections per user")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--events", o.events, "events to publish (fanout, publish)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100'000'000}));
  app.add_option("--event-size", o.event_size, "publish body size in bytes (padded)")
      ->capture_default_str()
      ->check(CLI::Range(64, 1 << 20));
  app.add_option("--publishers", o.publishers, "concurrent keep-alive publisher connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--batch", o.batch,
                 "events per publish request: above 1, a JSON array to POST /api/v1/events "
                 "(herald; fanout and publish scenarios), each item's result counted")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--rate", o.rate, "latency: events per second")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e7));
  app.add_option("--duration", o.duration, "latency: seconds of steady publishing")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--interval", o.interval,
                 "latency: print the deliveries and latency of each interval of this many seconds "
                 "while publishing (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--threads", o.threads, "load generator threads (one io_context each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--connect-concurrency", o.connect_concurrency,
                 "subscriber connections being opened at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--connect-timeout", o.connect_timeout, "seconds to open every subscriber")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--drain-timeout", o.drain_timeout,
                 "seconds after the last publish to wait for the last delivery")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--restart-timeout", o.restart_timeout,
                 "storm: seconds to wait for the server to go away and come back")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--warmup-events", o.warmup_events,
                 "events with a sequence number below this are counted but left out of the "
                 "latency figures")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100'000'000}));
  app.add_option("--settle-ms", o.settle_ms, "pause after connecting (ms)")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  app.add_option("--server-pids", o.server_pids,
                 "server process ids whose RSS and CPU time are summed (comma separated)")
      ->delimiter(',');
  app.add_option("--jwt-secret", o.jwt_secret, "HS256 secret for Herald tokens");
  app.add_option("--token-ttl", o.token_ttl, "token lifetime in seconds")
      ->capture_default_str()
      ->check(CLI::Range(60, 86400 * 30));
  app.add_option("--stream-path", o.stream_path, "Herald stream path")->capture_default_str();
  app.add_option("--publish-path", o.publish_path, "Herald publish path")->capture_default_str();
  app.add_option("--batch-path", o.batch_path, "Herald batch publish path")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return {std::nullopt, app.exit(e)};
  }

  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(o.host, ec);
  if (ec || !address.is_loopback()) {
    return {std::nullopt, app.exit(CLI::ValidationError("--host", "must be a loopback address"))};
  }
  if (o.target == TargetKind::kHerald && o.jwt_secret.empty()) {
    return {std::nullopt,
            app.exit(CLI::ValidationError("--jwt-secret", "required with --target herald"))};
  }
  if (o.scenario == Scenario::kPublish && o.per_user != 1) {
    return {std::nullopt,
            app.exit(CLI::ValidationError("--per-user", "the publish scenario uses 1"))};
  }
  if (o.batch > 1 && o.target != TargetKind::kHerald) {
    return {std::nullopt, app.exit(CLI::ValidationError("--batch", "herald target only"))};
  }
  if (o.batch > 1 && o.scenario == Scenario::kLatency) {
    return {std::nullopt,
            app.exit(CLI::ValidationError("--batch", "not with the paced latency scenario"))};
  }
  return {o, 0};
}

}  // namespace herald::bench
