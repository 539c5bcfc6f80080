#include "subscriber.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <fstream>
#include <random>

#include "proc_stats.h"

namespace herald::bench {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr int kReadsPerWakeup = 16;

// Waits until the socket is readable, then reads what is there into the worker's scratch
// buffer and parses it before the next suspension (so the buffer can be shared). Returns false
// when the stream ended or failed.
asio::awaitable<bool> Pump(Subscriber* sub) {
  tcp::socket& socket = sub->socket();
  auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_read, kUse);
  if (wait_ec) co_return false;
  Worker& worker = sub->worker();
  for (int i = 0; i < kReadsPerWakeup; ++i) {
    boost::system::error_code ec;
    const std::size_t n = socket.read_some(asio::buffer(worker.scratch), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) co_return false;
    worker.now_ns = NowNs();
    sub->http().Feed(std::string_view(worker.scratch.data(), n), sub->sse());
    if (sub->http().state() == ResponseParser::State::kError ||
        sub->http().state() == ResponseParser::State::kDone) {
      co_return false;
    }
    if (n < worker.scratch.size()) break;
  }
  co_return true;
}

void Fail(Subscriber* sub, std::string why) {
  sub->failed = true;
  sub->failure = std::move(why);
  Bump(sub->worker().counters.failed);
}

}  // namespace

Subscriber::Subscriber(int user, Worker& worker, const Plan& plan)
    : user_(user), worker_(worker), plan_(plan), socket_(worker.io) {}

void Subscriber::OnFrame(const SseFrame& frame) {
  if (frame.heartbeat) {
    ++heartbeats;
    return;
  }
  if (frame.named) {
    ++named;
    return;
  }
  if (!frame.has_s || !frame.has_t) {
    ++unparsed;
    return;
  }
  const std::int64_t users = plan_.users;
  if (frame.s < 0 || frame.s >= plan_.events || frame.s % users != user_) {
    ++misrouted;
    return;
  }
  const auto slot = static_cast<std::size_t>(frame.s / users);
  if (seen_.empty()) {
    seen_.resize(static_cast<std::size_t>((plan_.events / users + 64) / 64), 0);
  }
  const std::uint64_t bit = std::uint64_t{1} << (slot % 64);
  std::uint64_t& word = seen_[slot / 64];
  if ((word & bit) != 0) {
    ++duplicates;
    return;
  }
  word |= bit;
  ++unique;
  last_event_ns = worker_.now_ns;
  (frame.s >= plan_.warmup_events ? worker_.latencies_ns : worker_.warmup_latencies_ns)
      .push_back(worker_.now_ns - frame.t);
  Bump(worker_.counters.delivered);
}

PortPicker::PortPicker() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint32_t low = 0;
  std::uint32_t high = 0;
  if (in >> low >> high && low > 0 && high >= low && high <= 65535) {
    low_ = low;
    high_ = high;
  }
  std::random_device seed;
  next_ = seed() % range_size();
}

std::uint16_t PortPicker::Next() {
  return static_cast<std::uint16_t>(low_ + next_.fetch_add(1) % range_size());
}

namespace {

// Opens the socket bound to a free local port; false if none was found (connect() picks then).
bool BindLocalPort(tcp::socket& socket, const Plan& plan) {
  boost::system::error_code ec;
  socket.open(plan.endpoint.protocol(), ec);
  if (ec || plan.ports == nullptr) return false;
  // Reuse ports an earlier run left in TIME_WAIT (loopback allows it), and close with a reset so
  // this run leaves none: 19 000 connections a run would otherwise exhaust the range.
  socket.set_option(asio::socket_base::reuse_address(true), ec);
  socket.set_option(asio::socket_base::linger(true, 0), ec);
  const std::uint32_t tries = std::min<std::uint32_t>(plan.ports->range_size(), 4096);
  for (std::uint32_t i = 0; i < tries; ++i) {
    socket.bind(tcp::endpoint(plan.endpoint.address(), plan.ports->Next()), ec);
    if (!ec) return true;
  }
  return false;
}

// Connects from an explicitly chosen port; a port whose 4-tuple is still taken (TIME_WAIT of
// an earlier run) fails with EADDRNOTAVAIL and the next one is tried, a few times.
asio::awaitable<boost::system::error_code> ConnectFromFreePort(Subscriber* sub) {
  tcp::socket& socket = sub->socket();
  boost::system::error_code ec;
  for (int attempt = 0; attempt < 8; ++attempt) {
    socket.close(ec);
    BindLocalPort(socket, sub->plan());
    auto [connect_ec] = co_await socket.async_connect(sub->plan().endpoint, kUse);
    ec = connect_ec;
    if (ec != boost::system::errc::address_not_available &&
        ec != boost::system::errc::address_in_use)
      break;
  }
  co_return ec;
}

// Connects, sends the subscribe request and reads up to the response head. Returns an empty
// string when the stream is open (status 200), else why not; the socket is then closed.
asio::awaitable<std::string> Open(Subscriber* sub) {
  tcp::socket& socket = sub->socket();
  boost::system::error_code ignored;
  sub->http().Reset();
  sub->sse().Reset();
  const boost::system::error_code connect_ec = co_await ConnectFromFreePort(sub);
  if (connect_ec) {
    socket.close(ignored);
    co_return "connect: " + connect_ec.message();
  }
  socket.set_option(tcp::no_delay(true), ignored);
  const std::string request =
      sub->plan().target->SubscribeRequest(sub->user(), sub->sse().last_event_id());
  auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(request), kUse);
  if (write_ec) {
    socket.close(ignored);
    co_return "write: " + write_ec.message();
  }
  socket.non_blocking(true, ignored);
  bool open = true;
  while (open && !sub->http().head_done()) open = co_await Pump(sub);
  std::string failure;
  if (!sub->http().head_done()) {
    failure = sub->http().state() == ResponseParser::State::kError
                  ? std::string(sub->http().error())
                  : std::string("closed before the response head");
  } else if (sub->http().status() != 200) {
    failure = fmt::format("HTTP {}", sub->http().status());
  } else if (!open) {
    failure = "closed right after the response head";
  }
  if (!failure.empty()) socket.close(ignored);
  co_return failure;
}

// Storm: returns once the worker is not holding its streams (at once when it never was).
asio::awaitable<void> WaitWhileHeld(Worker& worker) {
  while (worker.hold) {
    if (!worker.release) {
      worker.release =
          std::make_unique<asio::steady_timer>(worker.io, asio::steady_timer::time_point::max());
    }
    co_await worker.release->async_wait(kUse);
  }
}

// Reads the stream until the run ends; reopens it with Last-Event-ID when the server ends it.
asio::awaitable<void> ReadStream(Subscriber* sub) {
  constexpr int kMaxResumes = 20;
  boost::system::error_code ignored;
  for (;;) {
    for (bool open = true; open;) open = co_await Pump(sub);
    sub->socket().close(ignored);
    ++sub->closes;
    sub->closed = true;
    Bump(sub->worker().counters.closed);
    co_await WaitWhileHeld(sub->worker());
    std::string failure = "not resumed";
    for (int attempt = 0; attempt < 5 && sub->resumes < kMaxResumes && !failure.empty();
         ++attempt) {
      if (attempt > 0) {
        asio::steady_timer pause(sub->socket().get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(kUse);
      }
      failure = co_await Open(sub);
    }
    if (!failure.empty()) co_return;
    ++sub->resumes;
    sub->resumed_ns = NowNs();
    Bump(sub->worker().counters.resumed);
    sub->closed = false;
  }
}

}  // namespace

asio::awaitable<void> ConnectSubscribers(std::vector<Subscriber*> subscribers) {
  for (Subscriber* sub : subscribers) {
    sub->start_ns = NowNs();
    std::string failure = co_await Open(sub);
    if (!failure.empty()) {
      Fail(sub, std::move(failure));
      continue;
    }
    sub->established_ns = NowNs();
    Bump(sub->worker().counters.established);
    asio::co_spawn(sub->worker().io, ReadStream(sub), asio::detached);
  }
}

}  // namespace herald::bench
