// An SSE session without sockets (STYLE §16, the in-memory tier): the real hub over a
// MemoryStore on a ManualClock, and each session run by http::RunSseSessionOn over a Beast test
// stream whose TCP-only calls (http/sse_transport.h) are recorded instead of made.
//
// Time: the session sleeps on a timer armed for the distance to its next deadline on the
// clock; a ManualClock does not move by itself, so every Advance() of clock() posts a wake to
// each open session (the transport's AttachWake), which then re-checks its deadlines. No test
// waits real time for a heartbeat or an expiry.
//
// Threads: the hub runs its shard (one) and writer threads; the test drives from its own thread.
// Everything that touches a session's streams runs on the shard (OnShard).
#pragma once

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/verifier.h"
#include "http/services.h"
#include "http/sse_session.h"
#include "http/sse_transport.h"
#include "hub/hub.h"
#include "store/event_store.h"
#include "support/manual_clock.h"

namespace herald::testing {

// What a session asked of its transport, in order: "prepare", "shutdown_send", "shutdown_both",
// "abort" (linger 0), "close". Shard only.
struct TransportRecord {
  std::vector<std::string> calls;
  std::function<void()> wake;  // the session's, from AttachWake
  bool open = true;
};

// The session's end of an in-memory connection.
class SessionStream {
 public:
  using executor_type = boost::beast::test::stream::executor_type;

  SessionStream(boost::beast::test::stream stream, std::shared_ptr<TransportRecord> record)
      : stream_(std::move(stream)), record_(std::move(record)) {}

  executor_type get_executor() { return stream_.get_executor(); }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return stream_.async_write_some(buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return stream_.async_read_some(buffers, std::forward<Token>(token));
  }

  boost::beast::test::stream& stream() { return stream_; }
  TransportRecord& record() { return *record_; }

 private:
  boost::beast::test::stream stream_;
  std::shared_ptr<TransportRecord> record_;
};

// The client's end of one session. Calls run on the shard and wait for it.
class SessionClient {
 public:
  // The bytes the session has written so far.
  std::string Received();
  // Waits (bounded) until the bytes received contain `text`.
  bool WaitFor(std::string_view text, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits (bounded) until the session has closed its stream.
  bool WaitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<std::string> TransportCalls();
  // The client goes away: its end closes (the session reads EOF).
  void Disconnect();

 private:
  friend class SessionHarness;
  struct State;
  SessionClient(class SessionHarness* harness, std::shared_ptr<State> state)
      : harness_(harness), state_(std::move(state)) {}
  SessionHarness* harness_;
  std::shared_ptr<State> state_;
};

struct SessionHarnessOptions {
  http::HttpOptions http;
  hub::HubOptions hub;
};

class SessionHarness {
 public:
  explicit SessionHarness(SessionHarnessOptions options = {});
  ~SessionHarness();

  ManualClock& clock() { return clock_; }
  hub::Hub& hub() { return *hub_; }
  hub::Metrics& metrics() { return metrics_; }
  http::Services& services() { return *services_; }
  std::uint32_t History() const;
  // From now on (true) or no longer (false), every store read fails.
  void FailReads(bool fail);
  // From now on, a session's read of the user's range waits until ReleaseReads() (at most 10 s):
  // events published meanwhile reach the registered subscriber's outbox and the store both.
  void HoldReads();
  bool WaitForHeldRead();  // bounded: whether a read is waiting
  void ReleaseReads();

  // A request for `user`'s `stream` whose token expires `ttl` after the clock's now.
  http::StreamRequest Request(const std::string& user, Stream stream = Stream::kAgui,
                              std::chrono::seconds ttl = std::chrono::hours(1));
  // Runs a session for `request` on the hub's shard over an in-memory stream.
  SessionClient Open(http::StreamRequest request);

  // Publishes AG-UI events (bodies `jsons`, in order) through the hub's write path; returns
  // their ids once stored (they are then on their way to every shard).
  std::vector<EventId> Publish(const std::string& user, const std::vector<std::string>& jsons,
                               Protocol protocol = Protocol::kAgui,
                               std::optional<ContextId> context = std::nullopt);

  // Moves the clock on by `by` once the shard has run what is queued (a session that just wrote
  // has taken its write's time and gone back to sleep), then wakes every session.
  void Advance(std::chrono::nanoseconds by) {
    Settle();
    clock_.Advance(by);
  }

  // Runs `fn` on the shard and waits for it.
  void OnShard(std::function<void()> fn);
  // Lets the shard run what is queued on it (a few round trips): what a wake set off is done.
  void Settle();
  // Waits (bounded) until the hub counts `n` open streams in total.
  bool WaitForOpenStreams(std::int64_t n,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  class ReadFailingStore;

  ManualClock clock_;
  hub::Metrics metrics_;
  std::unique_ptr<ReadFailingStore> store_;
  std::unique_ptr<auth::Verifier> verifier_;
  std::unique_ptr<hub::Hub> hub_;
  std::unique_ptr<http::Services> services_;
  std::vector<std::shared_ptr<SessionClient::State>> clients_;  // shard only after Open
};

}  // namespace herald::testing

// The in-memory transport: nothing to tune, closes recorded (and made on the test stream, so the
// client reads the end); the wake kept for the harness.
template <>
struct herald::http::SseTransport<herald::testing::SessionStream> {
  using Stream = herald::testing::SessionStream;

  static void Prepare(Stream& s) { s.record().calls.emplace_back("prepare"); }
  template <class Wake>
  static void AttachWake(Stream& s, Wake&& wake) {
    s.record().wake = std::forward<Wake>(wake);
  }
  // Never at once: every write goes through the stream's async_write, which the harness runs.
  template <class Buffers>
  static std::size_t TryWrite(Stream&, const Buffers&, boost::system::error_code& ec) {
    ec = boost::asio::error::would_block;
    return 0;
  }
  template <class Handler>
  static void AsyncWatchRead(Stream& s, boost::asio::mutable_buffer scratch, Handler handler) {
    s.async_read_some(
        scratch, [handler = std::move(handler)](boost::system::error_code ec, std::size_t) mutable {
          std::move(handler)(ec);
        });
  }
  static bool IsOpen(Stream& s) { return s.record().open; }
  static void Cancel(Stream&) {}  // an in-memory write never waits: nothing to abandon
  static void ShutdownSend(Stream& s) { s.record().calls.emplace_back("shutdown_send"); }
  static void ShutdownBoth(Stream& s) { s.record().calls.emplace_back("shutdown_both"); }
  static void AbortOnClose(Stream& s) { s.record().calls.emplace_back("abort"); }
  static void Close(Stream& s) {
    s.record().calls.emplace_back("close");
    s.record().open = false;
    s.stream().close();
  }
};
