#include "hub/relay.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "hub/subscriber.h"

namespace herald::hub {

namespace {

std::uint64_t FirstPosition(const DeliveryBatch& batch) { return batch.front().position; }
std::uint64_t LastPosition(const DeliveryBatch& batch) { return batch.back().position; }

std::int64_t MillisSinceEpoch(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace

Relay::Relay(std::unique_ptr<store::LogListener> log, DeliverySink& shards, Metrics& metrics,
             RelayOptions options, const Clock& clock)
    : log_(std::move(log)), shards_(shards), metrics_(metrics), options_(options), clock_(clock) {}

Relay::~Relay() { Stop(); }

void Relay::Start() {
  auto head = log_->Connect(options_.listen);
  if (!head.has_value()) throw std::runtime_error(head.error().message);
  {
    std::lock_guard lock(mutex_);
    cursor_ = *head;
  }
  head_.store(*head);
  connected_.store(true);
  metrics_.RelayState(true, 0, 0);
  thread_ = std::thread([this] { Run(); });
}

void Relay::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  log_->Wake();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Relay::cursor() const {
  std::lock_guard lock(mutex_);
  return cursor_;
}

void Relay::Deliver(std::shared_ptr<const DeliveryBatch> batch) {
  if (batch->empty()) return;
  std::lock_guard lock(mutex_);
  if (LastPosition(*batch) <= cursor_) return;  // the relay read these from the log already
  if (FirstPosition(*batch) > cursor_ + 1) {
    // Another node committed the positions before it: they are in the log; read them first.
    pending_.emplace(FirstPosition(*batch), std::move(batch));
    log_->Wake();
    return;
  }
  Emit(batch);
  EmitPendingUpTo(cursor_ + 1);
}

void Relay::Emit(const std::shared_ptr<const DeliveryBatch>& batch) {
  if (FirstPosition(*batch) > cursor_) {
    shards_.Deliver(batch);
  } else {
    // Partly delivered from the log (a page ended inside it): the rest only.
    auto rest = std::make_shared<DeliveryBatch>();
    for (const DeliveryItem& item : *batch) {
      if (item.position > cursor_) rest->push_back(item);
    }
    shards_.Deliver(std::move(rest));
  }
  cursor_ = LastPosition(*batch);
}

void Relay::EmitPendingUpTo(std::uint64_t position) {
  while (!pending_.empty() && pending_.begin()->first <= position) {
    auto batch = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    if (LastPosition(*batch) > cursor_) Emit(batch);
    position = std::max(position, cursor_ + 1);
  }
}

bool Relay::CatchUp() {
  for (;;) {
    auto page = log_->ReadAfter(cursor(), options_.page_events);
    if (!page.has_value()) {
      spdlog::warn("{}", page.error().message);
      return false;
    }
    if (!page->empty()) DeliverPage(*page);
    const bool more = page->size() >= options_.page_events;
    ReportLag(*page, more);
    if (!more) return true;
  }
}

void Relay::DeliverPage(const std::vector<StoredEvent>& events) {
  head_.store(std::max(head_.load(), events.back().position));
  std::lock_guard lock(mutex_);
  auto batch = std::make_shared<DeliveryBatch>();
  for (const StoredEvent& event : events) {
    if (!pending_.empty() && pending_.begin()->first <= event.position) {
      if (!batch->empty()) {
        Emit(batch);
        batch = std::make_shared<DeliveryBatch>();
      }
      EmitPendingUpTo(event.position);
    }
    if (event.position <= (batch->empty() ? cursor_ : batch->back().position)) continue;
    batch->push_back(MakeDeliveryItem(event));
  }
  if (!batch->empty()) Emit(batch);
  EmitPendingUpTo(cursor_ + 1);
}

void Relay::ReportLag(const std::vector<StoredEvent>& events, bool more) {
  // Behind: how old the newest event delivered is; caught up: no lag.
  const double seconds =
      more ? std::max<double>(0, static_cast<double>(MillisSinceEpoch(clock_.Now()) -
                                                     events.back().stored_at_ms) /
                                     1000.0)
           : 0.0;
  const std::uint64_t head = head_.load();
  const std::uint64_t at = cursor();
  metrics_.RelayState(true, head > at ? head - at : 0, seconds);
}

void Relay::Pause(std::chrono::milliseconds duration) {
  std::unique_lock lock(stop_mutex_);
  stop_cv_.wait_for(lock, duration, [this] { return stopping_; });
}

bool Relay::Connect() {
  auto head = log_->Connect(options_.listen);
  if (!head.has_value()) {
    spdlog::debug("{}", head.error().message);
    return false;
  }
  head_.store(std::max(head_.load(), *head));
  connected_.store(true);
  metrics_.RelayReconnected();
  spdlog::info("relay reconnected at position {} (log head {})", cursor(), *head);
  return true;
}

void Relay::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  for (;;) {
    {
      std::lock_guard lock(stop_mutex_);
      if (stopping_) return;
    }
    if (!connected_.load()) {
      if (!Connect()) {
        const auto down = clock_.Monotonic() - disconnected_at_;
        metrics_.RelayState(false, 0, std::chrono::duration<double>(down).count());
        Pause(backoff);
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      backoff = options_.min_backoff;
    }
    if (CatchUp()) {
      auto woke = log_->Wait(options_.poll_interval);
      if (woke.has_value()) {
        head_.store(std::max(head_.load(), *woke));
        continue;
      }
      spdlog::warn("{}", woke.error().message);
    }
    // The connection is gone: catch up from the cursor once it is back.
    spdlog::warn("relay disconnected at position {}; reconnecting", cursor());
    connected_.store(false);
    disconnected_at_ = clock_.Monotonic();
    metrics_.RelayState(false, 0, 0);
  }
}

}  // namespace herald::hub
