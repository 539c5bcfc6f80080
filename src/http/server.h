// The listener: accepts on one endpoint and hands each connection to a shard, round-robin,
// where it stays for life (STYLE §6).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "http/services.h"
#include "hub/shard.h"

namespace herald::http {

class Server {
 public:
  // Binds and listens at once (port 0 picks a free port). Throws boost::system::system_error
  // when the endpoint cannot be bound.
  Server(Services& services, const boost::asio::ip::tcp::endpoint& endpoint);

  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Starts accepting on shard 0.
  void Start();
  // Thread-safe. Stops accepting new connections; open ones carry on.
  void StopAccepting();

 private:
  Services& services_;
  hub::ShardSet& shards_;
  std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
};

}  // namespace herald::http
