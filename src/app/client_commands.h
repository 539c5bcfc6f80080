// `herald tail` and `herald publish`: small clients of a running hub (spec §8).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace herald::app {

struct ClientConfig {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
};

struct TailConfig {
  ClientConfig client;
  std::string stream = "contexts";
  std::string last_event_id;
  std::string context_id;
  bool raw = false;
  bool follow = true;  // reconnect with Last-Event-ID when the stream ends
};

struct PublishConfig {
  ClientConfig client;
  std::string protocol = "agui";
  std::string user;
  std::string event;  // one event as JSON
  std::string file;   // or a file of events, one JSON object per line ("-" for stdin)
};

void AddTailOptions(CLI::App& command, TailConfig& config);
void AddPublishOptions(CLI::App& command, PublishConfig& config);

// Subscribe and print each event's JSON on its own line (or raw frames). Returns when the
// stream ends for good (401/429/...) or on an error; throws std::runtime_error with one line.
int Tail(const TailConfig& config);
// Sends one event (webhook) or a file of events (one batch); prints the hub's answer.
int Publish(const PublishConfig& config);

}  // namespace herald::app
