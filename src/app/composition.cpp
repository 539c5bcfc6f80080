#include "app/composition.h"

#include <thread>

namespace herald::app {

Node::Node(NodeOptions options)
    : clock_(*options.clock),
      verifier_(std::make_unique<auth::Verifier>(std::move(options.verifier))),
      store_(store::OpenStore(options.store)),
      hub_(std::make_unique<hub::Hub>(options.hub, *store_, metrics_, clock_)) {
  // An aggregate: make_unique would need C++20's parenthesised aggregate initialisation, which
  // clang 14 (the TSan and lint builds) lacks.
  // NOLINTNEXTLINE(modernize-make-unique)
  services_.reset(new http::Services{
      *hub_, *verifier_, std::move(options.http), {}, {}, std::move(options.dashboard_html)});
  server_ = std::make_unique<http::Server>(*services_, options.listen);
}

Node::~Node() {
  if (started_) Drain();
}

void Node::Start() {
  hub_->Start();
  server_->Start();
  started_ = true;
  services_->ready = true;
}

void Node::Drain(std::chrono::milliseconds streams_bound) {
  if (drained_) return;
  drained_ = true;
  services_->ready = false;
  services_->draining = true;
  server_->StopAccepting();
  hub_->DisconnectAll(hub::DisconnectReason::kDrain);
  WaitForOpenStreams(0, streams_bound);
  hub_->Stop();
}

std::int64_t Node::OpenStreams() const {
  return metrics_.OpenConnections(Stream::kAgui) + metrics_.OpenConnections(Stream::kA2a) +
         metrics_.OpenConnections(Stream::kContexts);
}

bool Node::WaitForOpenStreams(std::int64_t n, std::chrono::milliseconds timeout) const {
  // Real time, not clock_: this bounds how long the process waits for sockets to close, which
  // a test's ManualClock does not move.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (OpenStreams() != n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling a condition, bounded
  }
  return true;
}

}  // namespace herald::app
