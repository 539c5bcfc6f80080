// SSE subscriber connections: open (with bounded concurrency), then read frames until the end
// of the run, checking each benchmark event's sequence number and recording its latency.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http_response_parser.h"
#include "sse_parser.h"
#include "worker.h"

namespace herald::bench {

// One subscriber connection's state. Touched only by its worker's thread during the run.
class Subscriber final : public SseHandler {
 public:
  Subscriber(int user, Worker& worker, const Plan& plan);
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  void OnFrame(const SseFrame& frame) override;

  int user() const { return user_; }
  Worker& worker() { return worker_; }
  const Plan& plan() const { return plan_; }
  ResponseParser& http() { return http_; }
  SseParser& sse() { return sse_; }
  // The connection; lives here (not in a coroutine frame) until the subscriber is destroyed,
  // which must happen before its worker's io_context is.
  boost::asio::ip::tcp::socket& socket() { return socket_; }

  std::int64_t start_ns = 0;
  std::int64_t established_ns = 0;  // 0 until the 200 head arrived
  std::int64_t last_event_ns = 0;
  bool failed = false;
  bool closed = false;          // the stream is down (the server ended it) and not resumed
  int closes = 0;               // times the server ended an established stream
  int resumes = 0;              // reconnections with Last-Event-ID that got a 200
  std::int64_t resumed_ns = 0;  // when the last of them got its 200 head
  std::string failure;

  std::uint64_t unique = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t misrouted = 0;  // another user's event, or a sequence never published
  std::uint64_t unparsed = 0;   // unnamed frame without the benchmark's t and s
  std::uint64_t named = 0;      // named frames other than heartbeats
  std::uint64_t heartbeats = 0;

 private:
  int user_;
  Worker& worker_;
  const Plan& plan_;
  ResponseParser http_;
  SseParser sse_{*this};
  boost::asio::ip::tcp::socket socket_;
  std::vector<std::uint64_t> seen_;  // bit per event of this user
};

using SubscriberList = std::vector<std::unique_ptr<Subscriber>>;

// Opens each subscriber in turn (one connector = one connection being opened at a time), then
// leaves a reading coroutine per established connection on the worker. A stream the server
// ends is reopened with Last-Event-ID, as EventSource does (a bounded number of times).
boost::asio::awaitable<void> ConnectSubscribers(std::vector<Subscriber*> subscribers);

}  // namespace herald::bench
