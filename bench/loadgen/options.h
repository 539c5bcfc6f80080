// Command-line options of the load generator: parsed once, validated, then read-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herald::bench {

enum class TargetKind { kHerald, kNchan };
enum class Scenario { kIdle, kFanout, kLatency, kPublish, kStorm };

struct Options {
  TargetKind target = TargetKind::kHerald;
  Scenario scenario = Scenario::kIdle;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::uint16_t publish_port = 0;  // 0: --port (publishers and subscribers on one server)
  std::string label;
  std::vector<std::string> tags;  // key=value pairs copied into the report

  int users = 100;
  int per_user = 1;
  std::int64_t events = 1000;
  int event_size = 200;
  int publishers = 16;
  int batch = 1;         // events per publish request (> 1: POST /api/v1/events, herald only)
  double rate = 2000;    // latency: events per second
  double duration = 10;  // latency: seconds of publishing
  double interval = 0;   // latency: seconds between progress lines while publishing (0: none)
  int threads = 1;
  int connect_concurrency = 256;
  double connect_timeout = 120;    // seconds for every subscriber to get its first bytes
  double drain_timeout = 60;       // seconds after the last publish for the last delivery
  double restart_timeout = 60;     // storm: seconds to wait for the server's restart
  std::int64_t warmup_events = 0;  // events below this sequence number are not in latency stats
  int settle_ms = 500;             // pause after connecting, before measuring RSS and publishing
  std::vector<int> server_pids;

  std::string jwt_secret;
  int token_ttl = 7200;
  std::string stream_path = "/api/v1/stream/agui";
  std::string publish_path = "/api/v1/webhook/agui";
  std::string batch_path = "/api/v1/events";
};

// Returns the options, or the process exit code when parsing ended the run (help, bad input).
struct ParseResult {
  std::optional<Options> options;
  int exit_code = 0;
};
ParseResult ParseOptions(int argc, char** argv);

const char* ToString(TargetKind kind);
const char* ToString(Scenario scenario);

}  // namespace herald::bench
