// A real Herald server in the test process: the composition root `herald serve` builds
// (app/composition.h: store, hub, shards, listener), on 127.0.0.1 port 0, with an HS256 secret
// for minting tokens. Time comes from `TestHubOptions::clock`: a ManualClock
// (support/manual_clock.h) lets a test move it instead of waiting.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "app/composition.h"
#include "core/clock.h"
#include "http/services.h"
#include "hub/hub.h"
#include "store/event_store.h"

namespace herald::testing {

inline constexpr std::string_view kTestSecret = "loopback-test-secret";

struct TestHubOptions {
  http::HttpOptions http;
  hub::HubOptions hub;
  std::string store_url = "memory:";
  const Clock* clock = &SystemClock();  // outlives the TestHub
};

class TestHub {
 public:
  explicit TestHub(TestHubOptions options = {});
  ~TestHub();

  unsigned short port() const { return port_; }
  hub::Hub& hub() { return node_->hub(); }
  hub::Metrics& metrics() { return node_->metrics(); }
  http::Services& services() { return node_->services(); }
  store::EventStore& store() { return node_->store(); }

  // A token for `sub` signed with kTestSecret, issued now by the real clock (so with a
  // ManualClock moved an hour on, the default ttl has run out: mint with the overload below).
  static std::string Token(const std::string& sub, const std::string& scope = "",
                           std::chrono::seconds ttl = std::chrono::hours(1));
  // The same, issued at `issued_at` (a ManualClock's Now()).
  static std::string Token(const std::string& sub, const std::string& scope,
                           std::chrono::seconds ttl,
                           std::chrono::system_clock::time_point issued_at);
  static std::string Bearer(const std::string& sub, const std::string& scope = "") {
    return "Bearer " + Token(sub, scope);
  }

  // Waits (bounded) until the hub counts `n` open streams in total.
  bool WaitForOpenStreams(std::int64_t n,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  std::unique_ptr<app::Node> node_;
  unsigned short port_ = 0;
};

}  // namespace herald::testing
