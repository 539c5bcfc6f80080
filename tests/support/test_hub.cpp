#include "support/test_hub.h"

#include <boost/asio/ip/address.hpp>

#include "auth/minter.h"

namespace herald::testing {

TestHub::TestHub(TestHubOptions options) {
  app::NodeOptions node;
  node.store.url = std::move(options.store_url);
  node.verifier.hs256_secret = std::string(kTestSecret);
  node.hub = std::move(options.hub);
  node.http = std::move(options.http);
  node.listen = {boost::asio::ip::make_address("127.0.0.1"), 0};
  node.dashboard_html = "<!doctype html>";
  node.clock = options.clock;
  node_ = std::make_unique<app::Node>(std::move(node));
  port_ = node_->local_endpoint().port();
  node_->Start();
}

TestHub::~TestHub() { node_->Drain(std::chrono::seconds(5)); }

std::string TestHub::Token(const std::string& sub, const std::string& scope,
                           std::chrono::seconds ttl) {
  return Token(sub, scope, ttl, std::chrono::system_clock::now());
}

std::string TestHub::Token(const std::string& sub, const std::string& scope,
                           std::chrono::seconds ttl,
                           std::chrono::system_clock::time_point issued_at) {
  return auth::MintHs256(kTestSecret, sub, scope, ttl, issued_at);
}

bool TestHub::WaitForOpenStreams(std::int64_t n, std::chrono::milliseconds timeout) {
  return node_->WaitForOpenStreams(n, timeout);
}

}  // namespace herald::testing
