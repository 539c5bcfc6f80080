// The composition root: the one place the running graph is built. `herald serve` and the
// loopback tests (tests/support/test_hub.h) both build a Node, so what a test runs is what the
// server runs. Construction order: verifier -> store -> hub (shards, publisher, relay) ->
// services -> listener; Drain() stops them the way spec §6 asks and the destructor tears down in
// reverse order.
//
// The clock: every decision that depends on time reads it from `NodeOptions::clock`, handed to
// the hub and, through `hub.clock()`, to the HTTP layer (core/clock.h, docs/ARCHITECTURE.md).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/verifier.h"
#include "core/clock.h"
#include "http/server.h"
#include "http/services.h"
#include "hub/hub.h"
#include "hub/metrics.h"
#include "store/event_store.h"
#include "store/open_store.h"

namespace herald::app {

struct NodeOptions {
  store::StoreOptions store;
  auth::VerifierConfig verifier;
  hub::HubOptions hub;
  http::HttpOptions http;
  boost::asio::ip::tcp::endpoint listen;  // port 0 picks a free port
  std::string dashboard_html;             // served at "/"
  const Clock* clock = &SystemClock();    // outlives the node
};

class Node {
 public:
  // Builds the graph and binds the listener (not yet accepting). Throws std::invalid_argument
  // for a bad verifier configuration or a store that cannot be opened, and
  // boost::system::system_error when the endpoint cannot be bound.
  explicit Node(NodeOptions options);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Drains (with the default bound) if Start() ran and Drain() did not.
  ~Node();

  // Starts the shards, the write path (and the relay of a cluster store, which throws
  // std::runtime_error when the store is unreachable), then accepting; /readyz says ready.
  void Start();

  // Spec §6: not ready, stop accepting, tell every stream to come back (spread over the drain
  // window), wait at most `streams_bound` for them to close, store what was acknowledged and stop
  // the hub. Idempotent.
  void Drain(std::chrono::milliseconds streams_bound = kDrainStreamsBound);

  // Waits (bounded, polling) until the hub counts `n` open streams in total.
  bool WaitForOpenStreams(std::int64_t n, std::chrono::milliseconds timeout) const;
  std::int64_t OpenStreams() const;

  boost::asio::ip::tcp::endpoint local_endpoint() const { return server_->local_endpoint(); }
  const Clock& clock() const { return clock_; }
  hub::Hub& hub() { return *hub_; }
  hub::Metrics& metrics() { return metrics_; }
  http::Services& services() { return *services_; }
  store::EventStore& store() { return *store_; }

  static constexpr std::chrono::milliseconds kDrainStreamsBound{5'000};

 private:
  const Clock& clock_;
  hub::Metrics metrics_;
  std::unique_ptr<auth::Verifier> verifier_;
  std::unique_ptr<store::EventStore> store_;
  std::unique_ptr<hub::Hub> hub_;
  std::unique_ptr<http::Services> services_;
  std::unique_ptr<http::Server> server_;
  bool started_ = false;
  bool drained_ = false;
};

}  // namespace herald::app
