#include "http/sse_session.h"

#include "http/sse_session_steps.h"

namespace herald::http {

// The one production instantiation of the session's steps: over a TCP socket.
boost::asio::awaitable<void> RunSseSession(boost::asio::ip::tcp::socket socket, hub::Shard* shard,
                                           StreamRequest request, Services* services) {
  return RunSseSessionOn(std::move(socket), shard, std::move(request), services);
}

}  // namespace herald::http
