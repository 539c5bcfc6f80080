#include "publisher.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "http_response_parser.h"
#include "proc_stats.h"

namespace herald::bench {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr int kMaxAttempts = 50;
constexpr std::size_t kKeptBody = 300;

class KeepBody final : public BodySink {
 public:
  void OnBody(std::string_view bytes) override {
    if (text.size() < kKeptBody) text.append(bytes.substr(0, kKeptBody - text.size()));
  }
  std::string text;
};

class WholeBody final : public BodySink {
 public:
  void OnBody(std::string_view bytes) override { text.append(bytes); }
  std::string text;
};

asio::awaitable<void> SleepNs(tcp::socket& socket, std::int64_t ns) {
  asio::steady_timer timer(socket.get_executor());
  timer.expires_after(std::chrono::nanoseconds(ns));
  co_await timer.async_wait(kUse);
}

std::int64_t DueNs(const Plan& plan, std::int64_t seq) {
  return plan.start_ns + static_cast<std::int64_t>(static_cast<double>(seq) * 1e9 / plan.rate);
}

}  // namespace

asio::awaitable<void> RunPublisher(Worker* worker, const Plan* plan, PublishShared* shared,
                                   PublisherResult* result, int index) {
  tcp::socket socket(worker->io);
  boost::system::error_code ignored;
  bool ever_connected = false;
  std::string request;
  std::array<char, 4096> buffer{};
  ResponseParser http;
  KeepBody body;
  WholeBody batch_body;
  const int batch = plan->paced ? 1 : std::max(1, plan->batch);
  BodySink& sink = batch > 1 ? static_cast<BodySink&>(batch_body) : body;

  for (std::int64_t k = 0;; ++k) {
    const std::int64_t seq =
        plan->paced ? index + k * plan->publishers : shared->next_seq.fetch_add(batch);
    if (seq >= plan->events) break;
    const int count = static_cast<int>(std::min<std::int64_t>(batch, plan->events - seq));
    const int user = static_cast<int>(seq % plan->users);
    const std::int64_t due = plan->paced ? DueNs(*plan, seq) : 0;
    if (plan->paced && due > NowNs()) co_await SleepNs(socket, due - NowNs());

    bool settled = false;
    for (int attempt = 0; attempt < kMaxAttempts && !settled; ++attempt) {
      if (!socket.is_open()) {
        auto [ec] = co_await socket.async_connect(plan->publish_endpoint, kUse);
        if (ec) {
          socket.close(ignored);
          if (result->first_error.empty()) result->first_error = "connect: " + ec.message();
          co_await SleepNs(socket, 10'000'000);
          continue;
        }
        socket.set_option(tcp::no_delay(true), ignored);
        if (ever_connected) ++result->reconnects;
        ever_connected = true;
      }
      // A paced event carries its due time, so a publishing backlog counts as latency.
      if (batch > 1) {
        plan->target->BatchRequest(seq, count, plan->users, NowNs(), request);
      } else {
        plan->target->PublishRequest(user, seq, plan->paced ? due : NowNs(), request);
      }
      auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(request), kUse);
      http.Reset();
      body.text.clear();
      batch_body.text.clear();
      boost::system::error_code read_ec;
      while (!write_ec && !read_ec && http.state() != ResponseParser::State::kDone &&
             http.state() != ResponseParser::State::kError) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), kUse);
        read_ec = ec;
        if (!ec) http.Feed(std::string_view(buffer.data(), n), sink);
      }
      if (write_ec || http.state() != ResponseParser::State::kDone) {
        // The server closed a keep-alive connection (or broke it): reconnect and resend.
        socket.close(ignored);
        continue;
      }
      const int status = http.status();
      ++result->statuses[status];
      if (!http.keep_alive()) socket.close(ignored);
      if (batch > 1 && Target::Accepted(status)) {
        // One result per item, in order: count each; a refused item is not retried.
        const BatchAnswer answer = ParseBatchAnswer(batch_body.text);
        if (!answer.ok || answer.statuses.size() != static_cast<std::size_t>(count)) {
          if (result->first_error.empty()) {
            result->first_error = fmt::format("batch answer not understood: {}",
                                              batch_body.text.substr(0, kKeptBody));
          }
          result->failed += static_cast<std::uint64_t>(count);
          Bump(worker->counters.publish_failed, static_cast<std::uint64_t>(count));
          settled = true;
          break;
        }
        std::uint64_t ok = 0;
        for (int i = 0; i < count; ++i) {
          const int item_status = answer.statuses[static_cast<std::size_t>(i)];
          if (Target::Accepted(item_status)) {
            ++ok;
            const auto item_user = static_cast<std::size_t>((seq + i) % plan->users);
            shared->user_published[item_user].fetch_add(1, std::memory_order_relaxed);
          } else {
            ++result->item_statuses[item_status];
            if (result->first_error.empty()) {
              result->first_error = fmt::format("batch item HTTP {}: {}", item_status,
                                                batch_body.text.substr(0, kKeptBody));
            }
          }
        }
        result->accepted += ok;
        result->failed += static_cast<std::uint64_t>(count) - ok;
        ++result->requests;
        Bump(worker->counters.published, ok);
        Bump(worker->counters.publish_failed, static_cast<std::uint64_t>(count) - ok);
        settled = true;
      } else if (Target::Accepted(status)) {
        ++result->accepted;
        ++result->requests;
        shared->user_published[static_cast<std::size_t>(user)].fetch_add(1,
                                                                         std::memory_order_relaxed);
        Bump(worker->counters.published);
        settled = true;
      } else if (Target::Retryable(status)) {
        ++result->retries;
        const std::int64_t wait_ms =
            http.retry_after() > 0 ? std::min(1000, http.retry_after() * 1000) : 20;
        co_await SleepNs(socket, wait_ms * 1'000'000);
      } else {
        if (result->first_error.empty()) {
          result->first_error = fmt::format("HTTP {}: {}", status, body.text);
        }
        break;
      }
    }
    if (!settled) {
      result->failed += static_cast<std::uint64_t>(count);
      Bump(worker->counters.publish_failed, static_cast<std::uint64_t>(count));
    }
  }
  result->done_ns = NowNs();
  shared->publishers_done.fetch_add(1);
}

}  // namespace herald::bench
