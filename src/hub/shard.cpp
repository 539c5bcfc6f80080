#include "hub/shard.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cassert>

namespace herald::hub {

Shard::Shard(std::size_t index, Metrics& metrics)
    : index_(index), metrics_(metrics), work_(io_context_.get_executor()) {}

// Stop() and Join() throw only when a shard joins its own thread, a bug: terminating is right.
Shard::~Shard() {  // NOLINT(bugprone-exception-escape)
  Stop();
  Join();
}

void Shard::Post(std::shared_ptr<const DeliveryBatch> batch) {
  bool first = false;
  {
    std::lock_guard lock(handed_over_mutex_);
    first = handed_over_.empty();
    handed_over_.push_back(std::move(batch));
  }
  // One dispatch for every batch handed over before it runs: it takes them all, in order.
  if (first) boost::asio::post(io_context_, [this] { DispatchHandedOver(); });
}

void Shard::DispatchHandedOver() {
  {
    std::lock_guard lock(handed_over_mutex_);
    dispatching_.swap(handed_over_);
  }
  std::size_t frames = 0;
  for (const auto& batch : dispatching_) frames += registry_.Dispatch(*batch).frames;
  // Cleared, not freed: the two vectors swap back and forth, each keeping its capacity.
  dispatching_.clear();
  if (frames > 0) metrics_.Delivered(frames);
}

void Shard::StartWriteWatchdog(std::chrono::milliseconds period,
                               std::chrono::milliseconds stall_limit, const Clock& clock) {
  AssertOwned();
  watchdog_period_ = period;
  stall_limit_ = stall_limit;
  clock_ = &clock;
  watchdog_ = std::make_unique<boost::asio::steady_timer>(io_context_);
  ArmWatchdog();
}

void Shard::ArmWatchdog() {
  watchdog_->expires_after(watchdog_period_);
  watchdog_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const auto deadline = clock_->Monotonic() - stall_limit_;
    registry_.ForEach([deadline](Subscriber& subscriber) {
      if (subscriber.WriteStalledSince(deadline)) subscriber.Close(DisconnectReason::kSlowConsumer);
    });
    ArmWatchdog();
  });
}

void Shard::Start() {
  thread_ = std::thread([this] {
    try {
      io_context_.run();
    } catch (const std::exception& e) {
      // A session coroutine let an exception escape: a bug. Log loudly and die rather than
      // run on with a shard whose state is unknown.
      spdlog::critical("shard {} stopped by an exception: {}", index_, e.what());
      std::abort();
    }
  });
}

void Shard::Stop() {
  work_.reset();
  if (watchdog_) boost::asio::post(io_context_, [this] { watchdog_.reset(); });
  io_context_.stop();
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

bool Shard::RunningInThisThread() { return io_context_.get_executor().running_in_this_thread(); }

void Shard::AssertOwned() { assert(RunningInThisThread()); }

ShardSet::ShardSet(std::size_t count, Metrics& metrics) {
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, metrics));
  }
}

Shard& ShardSet::Next() {
  Shard& shard = *shards_[next_];
  next_ = (next_ + 1) % shards_.size();
  return shard;
}

void ShardSet::Deliver(std::shared_ptr<const DeliveryBatch> batch) {
  for (auto& shard : shards_) shard->Post(batch);
}

void ShardSet::Start() {
  for (auto& shard : shards_) shard->Start();
}

void ShardSet::Stop() {
  for (auto& shard : shards_) shard->Stop();
}

void ShardSet::Join() {
  for (auto& shard : shards_) shard->Join();
}

}  // namespace herald::hub
