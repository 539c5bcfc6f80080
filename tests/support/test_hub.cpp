#include "support/test_hub.h"

#include <boost/asio/ip/address.hpp>
#include <thread>

#include "auth/minter.h"
#include "core/clock.h"
#include "store/open_store.h"

namespace herald::testing {

TestHub::TestHub(TestHubOptions options) {
  store::StoreOptions store_options;
  store_options.url = options.store_url;
  store_ = store::OpenStore(store_options);
  auth::VerifierConfig verifier;
  verifier.hs256_secret = std::string(kTestSecret);
  verifier_ = std::make_unique<auth::Verifier>(verifier);
  hub_ = std::make_unique<hub::Hub>(options.hub, *store_, metrics_, SystemClock());
  services_.reset(new http::Services{*hub_, *verifier_, options.http, {}, {}, "<!doctype html>"});
  server_ = std::make_unique<http::Server>(
      *services_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  port_ = server_->local_endpoint().port();
  hub_->Start();
  server_->Start();
  services_->ready = true;
}

TestHub::~TestHub() {
  services_->draining = true;
  server_->StopAccepting();
  hub_->DisconnectAll(hub::DisconnectReason::kDrain);
  WaitForOpenStreams(0, std::chrono::seconds(5));
  hub_->Stop();
}

std::string TestHub::Token(const std::string& sub, const std::string& scope,
                           std::chrono::seconds ttl) {
  return auth::MintHs256(kTestSecret, sub, scope, ttl, std::chrono::system_clock::now());
}

bool TestHub::WaitForOpenStreams(std::int64_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto open = [this] {
    return metrics_.OpenConnections(Stream::kAgui) + metrics_.OpenConnections(Stream::kA2a) +
           metrics_.OpenConnections(Stream::kContexts);
  };
  while (open() != n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling a condition, bounded
  }
  return true;
}

}  // namespace herald::testing
