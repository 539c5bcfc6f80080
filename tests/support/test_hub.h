// A real Herald server in the test process: the same graph `herald serve` builds (store, hub,
// shards, listener), on 127.0.0.1 port 0, with an HS256 secret for minting tokens.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "auth/verifier.h"
#include "http/server.h"
#include "http/services.h"
#include "hub/hub.h"
#include "store/event_store.h"

namespace herald::testing {

inline constexpr std::string_view kTestSecret = "loopback-test-secret";

struct TestHubOptions {
  http::HttpOptions http;
  hub::HubOptions hub;
  std::string store_url = "memory:";
};

class TestHub {
 public:
  explicit TestHub(TestHubOptions options = {});
  ~TestHub();

  unsigned short port() const { return port_; }
  hub::Hub& hub() { return *hub_; }
  hub::Metrics& metrics() { return metrics_; }
  http::Services& services() { return *services_; }
  store::EventStore& store() { return *store_; }

  // A token for `sub` signed with kTestSecret.
  static std::string Token(const std::string& sub, const std::string& scope = "",
                           std::chrono::seconds ttl = std::chrono::hours(1));
  static std::string Bearer(const std::string& sub, const std::string& scope = "") {
    return "Bearer " + Token(sub, scope);
  }

  // Waits (bounded) until the hub counts `n` open streams in total.
  bool WaitForOpenStreams(std::int64_t n,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  hub::Metrics metrics_;
  std::unique_ptr<store::EventStore> store_;
  std::unique_ptr<auth::Verifier> verifier_;
  std::unique_ptr<hub::Hub> hub_;
  std::unique_ptr<http::Services> services_;
  std::unique_ptr<http::Server> server_;
  unsigned short port_ = 0;
};

}  // namespace herald::testing
