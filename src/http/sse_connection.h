// An SSE session's connection: its stream, its wake-up timer, the peer watcher and the chunked
// write with the stall mark (docs/ARCHITECTURE.md "SSE session"). Templates over the stream
// type, reached through SseTransport<IoStream> (http/sse_transport.h).
//
// Time: every deadline is a point on the injected clock's monotonic time (hub.clock()). A sleep
// arms the timer for the distance from the clock's now to the deadline and re-checks the clock
// when it wakes: with SystemClock() that is the deadline itself; with a test's ManualClock the
// real wait is only a fallback, and the test wakes the session when it moves the clock (the
// in-memory transport's AttachWake, tests/support/session_harness.h). The session's other
// wake-ups are unchanged: the subscriber's on_ready (frames queued, closed) and the peer watcher
// cancel the timer.
#pragma once

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "http/sse_transport.h"
#include "hub/subscriber.h"

namespace herald::http {

// The stream and the wake-up timer. Shared with the peer watcher, which may outlive the
// coroutine by one callback.
template <class IoStream>
struct Connection {
  using Transport = SseTransport<IoStream>;

  Connection(IoStream s, const Clock& c, bool is_chunked)
      : stream(std::move(s)), timer(stream.get_executor()), clock(c), chunked(is_chunked) {}
  IoStream stream;
  boost::asio::steady_timer timer;
  const Clock& clock;
  bool chunked = false;
  bool peer_gone = false;
  std::array<char, 64> scratch{};
  std::array<char, 20> chunk_size{};              // "<hex size>\r\n" of the write in flight
  std::vector<boost::asio::const_buffer> gather;  // that line, the payload, "\r\n"
  // The rest of a write the hub cancelled (closing the stream) after it had sent part of it:
  // sent before the stream ends, so that the stream ends on a whole chunk and a whole frame.
  std::string unsent;
};

// Notices the peer closing while the stream is idle: bytes the client should not send on an SSE
// connection are read and ignored; EOF or an error marks the peer gone and wakes the session.
template <class IoStream>
void WatchPeer(std::shared_ptr<Connection<IoStream>> connection) {
  using Transport = SseTransport<IoStream>;
  Connection<IoStream>& c = *connection;
  Transport::AsyncWatchRead(
      c.stream, boost::asio::buffer(c.scratch), [connection](boost::system::error_code ec) {
        Connection<IoStream>& c = *connection;
        const bool cancelled = ec == boost::asio::error::operation_aborted;
        if (!ec || (cancelled && Transport::IsOpen(c.stream) && !c.peer_gone)) {
          WatchPeer(std::move(connection));  // bytes read, or cancelled by a closing subscriber
          return;
        }
        c.peer_gone = true;
        c.timer.cancel();
        Transport::Cancel(c.stream);
      });
}

// Waits until the clock reaches `deadline`, or until something wakes the session first (the
// caller re-checks what it waits for).
template <class IoStream>
boost::asio::awaitable<void> SleepUntil(Connection<IoStream>& c,
                                        std::chrono::steady_clock::time_point deadline) {
  c.timer.expires_after(deadline - c.clock.Monotonic());
  co_await c.timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

// Drops the first `n` bytes of `buffers` (what a write has sent).
inline void DropFront(std::vector<boost::asio::const_buffer>& buffers, std::size_t n) {
  auto sent = buffers.begin();
  for (; sent != buffers.end() && n >= sent->size(); ++sent) n -= sent->size();
  buffers.erase(buffers.begin(), sent);
  if (n > 0) buffers.front() += n;
}

// Writes `buffers` (as one chunk on a chunked stream) after `head` (the response head, sent with
// the first frames), marking the write for the shard's stall watchdog.
template <class IoStream, class Buffers>
boost::asio::awaitable<boost::system::error_code> Write(Connection<IoStream>& c,
                                                        hub::Subscriber& subscriber,
                                                        const Buffers& buffers,
                                                        std::string_view head = {}) {
  namespace asio = boost::asio;
  c.gather.clear();
  if (!head.empty()) c.gather.push_back(asio::buffer(head));
  const std::size_t size = asio::buffer_size(buffers);
  if (c.chunked) {
    const auto* end = fmt::format_to(c.chunk_size.data(), FMT_COMPILE("{:x}\r\n"), size);
    c.gather.push_back(asio::buffer(c.chunk_size.data(), end - c.chunk_size.data()));
  }
  // An iterator: a pointer only when `buffers` is a single buffer (not for a std::vector of them).
  // NOLINTNEXTLINE(readability-qualified-auto)
  for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
       ++it) {
    c.gather.push_back(*it);
  }
  if (c.chunked) c.gather.push_back(asio::buffer("\r\n", 2));
  subscriber.MarkWriteStarted(c.clock.Monotonic());
  // Most writes fit in the socket's send buffer: they go at once, with no wait and no round trip
  // through the shard's queue. Only what does not fit waits for the socket.
  boost::system::error_code ec;
  const std::size_t sent_now = SseTransport<IoStream>::TryWrite(c.stream, c.gather, ec);
  DropFront(c.gather, sent_now);
  if ((!ec || ec == asio::error::would_block) && !c.gather.empty()) {
    std::size_t n = 0;
    std::tie(ec, n) =
        co_await asio::async_write(c.stream, c.gather, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted && (sent_now > 0 || n > 0)) {  // closed, part sent
      DropFront(c.gather, n);
      for (const asio::const_buffer& b : c.gather) {
        c.unsent.append(static_cast<const char*>(b.data()), b.size());
      }
    }
  }
  subscriber.MarkWriteDone();
  co_return ec;
}

// Sends what a cancelled write left unsent, within `limit` (a safety bound on a peer that does
// not read, in real time). Returns whether it all went. `connection` by reference (the caller's
// outlives this): GCC 12 mishandles coroutine parameters that own memory (http/server.cpp); the
// timer's handler holds its own copy.
template <class IoStream>
boost::asio::awaitable<bool> FinishCancelledWrite(
    const std::shared_ptr<Connection<IoStream>>& connection, std::chrono::milliseconds limit) {
  namespace asio = boost::asio;
  Connection<IoStream>& c = *connection;
  if (c.unsent.empty()) co_return true;
  asio::steady_timer deadline(c.stream.get_executor());
  deadline.expires_after(limit);
  deadline.async_wait([connection](boost::system::error_code ec) {
    if (!ec) SseTransport<IoStream>::Cancel(connection->stream);
  });
  auto [ec, n] = co_await asio::async_write(c.stream, asio::buffer(c.unsent),
                                            asio::as_tuple(asio::use_awaitable));
  deadline.cancel();
  co_return !ec;
}

}  // namespace herald::http
