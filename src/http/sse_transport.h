// The seam between an SSE session and what carries its bytes (docs/ARCHITECTURE.md "SSE
// session"). The session (http/sse_session_steps.h) is a template over its stream type: it
// writes with asio::async_write on the stream itself and reaches everything that only a TCP
// socket has through SseTransport<IoStream>. Production instantiates it once, for tcp::socket
// (http/sse_session.cpp); tests instantiate it over an in-memory stream
// (tests/support/session_harness.h) whose SseTransport records the close it was asked for.
//
// Why a template and not a type-erased transport: the live loop's write is the hot path (one per
// batch of frames, to every subscriber), and a virtual AsyncWrite would add an indirect call and
// a type-erased completion handler to each; the template adds nothing, and the TCP code is
// compiled once, in sse_session.cpp. The price is that the session's steps live in a header.
//
// What SseTransport<IoStream> provides (static functions, all on the session's shard):
//   Prepare(s)                 tune the stream for small frames (TCP_NODELAY, non-blocking mode)
//   AttachWake(s, wake)        hand the transport the session's wake-up (a no-op for TCP; the
//                              in-memory transport calls it when a test moves its clock)
//   TryWrite(s, buffers, ec)   write what the stream takes without waiting; returns the bytes
//                              written (ec would_block when it takes none now)
//   AsyncWatchRead(s, scratch, handler(ec))  complete when the peer sent bytes (ec clear; the
//                              bytes are read into `scratch` and ignored), closed or failed (ec
//                              set), or the wait was cancelled (operation_aborted)
//   IsOpen(s), Cancel(s)       cancel pending operations (a closing subscriber's abandoned write)
//   ShutdownSend(s), ShutdownBoth(s), AbortOnClose(s) (linger 0: the close resets), Close(s)
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <utility>

namespace herald::http {

template <class IoStream>
struct SseTransport;  // specialised per stream type

template <>
struct SseTransport<boost::asio::ip::tcp::socket> {
  using Socket = boost::asio::ip::tcp::socket;

  static void Prepare(Socket& s) {
    boost::system::error_code ignored;
    s.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    s.non_blocking(true, ignored);
  }

  // TCP wakes the session through its timer and the peer watcher alone.
  template <class Wake>
  static void AttachWake(Socket&, Wake&&) {}

  // The socket is non-blocking (Prepare): write_some sends what fits in its send buffer now.
  template <class Buffers>
  static std::size_t TryWrite(Socket& s, const Buffers& buffers, boost::system::error_code& ec) {
    return s.write_some(buffers, ec);
  }

  // Waits for readability without a buffer (an idle stream holds none), then reads what came
  // without blocking: bytes (or nothing yet) keep the watch going, EOF or an error ends it.
  template <class Handler>
  static void AsyncWatchRead(Socket& s, boost::asio::mutable_buffer scratch, Handler handler) {
    s.async_wait(Socket::wait_read,
                 [&s, scratch, handler = std::move(handler)](boost::system::error_code ec) mutable {
                   if (!ec) {
                     boost::system::error_code read_ec;
                     const std::size_t n = s.read_some(scratch, read_ec);
                     if ((!read_ec && n > 0) || read_ec == boost::asio::error::would_block) {
                       ec = {};
                     } else {
                       ec = read_ec ? read_ec : boost::asio::error::eof;
                     }
                   }
                   std::move(handler)(ec);
                 });
  }

  static bool IsOpen(const Socket& s) { return s.is_open(); }
  static void Cancel(Socket& s) {
    boost::system::error_code ignored;
    s.cancel(ignored);
  }
  static void ShutdownSend(Socket& s) {
    boost::system::error_code ignored;
    s.shutdown(Socket::shutdown_send, ignored);
  }
  static void ShutdownBoth(Socket& s) {
    boost::system::error_code ignored;
    s.shutdown(Socket::shutdown_both, ignored);
  }
  static void AbortOnClose(Socket& s) {
    boost::system::error_code ignored;
    s.set_option(boost::asio::socket_base::linger(true, 0), ignored);
  }
  static void Close(Socket& s) {
    boost::system::error_code ignored;
    s.close(ignored);
  }
};

}  // namespace herald::http
