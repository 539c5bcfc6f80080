#include "hub/publisher.h"

#include <spdlog/spdlog.h>

#include "core/sse.h"

namespace herald::hub {

namespace {

std::size_t DraftBytes(const std::vector<EventDraft>& drafts) {
  std::size_t bytes = 0;
  for (const EventDraft& d : drafts) bytes += d.json.size() + d.user.str().size() + 64;
  return bytes;
}

}  // namespace

Publisher::Publisher(store::EventStore& store, DeliverySink& sink,
                     const ConnectionLimiter& limiter, Metrics& metrics,
                     PublisherOptions options, Clock clock)
    : store_(store),
      sink_(sink),
      limiter_(limiter),
      metrics_(metrics),
      options_(options),
      clock_(std::move(clock)) {}

Publisher::~Publisher() { Drain(); }

void Publisher::Start() { thread_ = std::thread([this] { Run(); }); }

void Publisher::Submit(std::vector<EventDraft> drafts, Completion done) {
  const std::size_t bytes = DraftBytes(drafts);
  bool accepted = false;
  {
    std::lock_guard lock(mutex_);
    const bool full = pending_events_ + drafts.size() > options_.max_pending_events ||
                      pending_bytes_ + bytes > options_.max_pending_bytes;
    // A single request larger than the bound still goes through when nothing else is queued.
    accepted = !stopping_ && (!full || pending_events_ == 0);
    if (accepted) {
      pending_events_ += drafts.size();
      pending_bytes_ += bytes;
      queue_.push_back(
          Request{std::move(drafts), bytes, std::move(done), std::chrono::steady_clock::now()});
    }
  }
  if (!accepted) {
    // Completed outside the lock: a completion may do anything, including publishing again.
    metrics_.PublishRejected();
    Complete(done, PublishOutcome{ApiError{ErrorCode::kServiceUnavailable,
                                           "The hub is busy storing events; retry shortly.",
                                           {},
                                           std::chrono::seconds(1)},
                                  {}});
    return;
  }
  wake_.notify_one();
}

void Publisher::Drain() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Publisher::Run() {
  std::vector<Request> group;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.prune_interval,
                     [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      std::size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() || events + queue_.front().drafts.size() <= options_.max_group_events)) {
        events += queue_.front().drafts.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!group.empty()) {
      CommitGroup(group);
      std::size_t events = 0, bytes = 0;
      for (const Request& r : group) {
        events += r.drafts.size();
        bytes += r.bytes;
      }
      group.clear();
      std::lock_guard lock(mutex_);
      pending_events_ -= events;
      pending_bytes_ -= bytes;
    }
    MaybePrune();
  }
}

void Publisher::CommitGroup(std::vector<Request>& group) {
  std::vector<EventDraft> drafts;
  for (Request& r : group) {
    for (EventDraft& d : r.drafts) drafts.push_back(std::move(d));
  }
  auto stored = store_.Append(drafts, clock_());
  if (!stored.ok()) {
    metrics_.StoreError();
    spdlog::error("store append of {} events failed: {}", drafts.size(), stored.error.message);
    for (Request& r : group) {
      Complete(r.done, PublishOutcome{ApiError{ErrorCode::kServiceUnavailable,
                                          "The event store is unavailable; retry shortly.",
                                          {},
                                          std::chrono::seconds(1)},
                                 {}});
    }
    return;
  }

  auto batch = std::make_shared<DeliveryBatch>();
  batch->reserve(stored.value->size());
  for (StoredEvent& e : *stored.value) {
    metrics_.EventStored(e.protocol, e.type);
    const std::string id = FormatEventId(e.id);
    DeliveryItem item{e.user, e.protocol, e.context, e.id.sequence, nullptr, nullptr};
    if (PrimaryStream(e.protocol)) {
      item.bare = std::make_shared<const std::string>(sse::DataFrame(id, e.json));
    }
    item.wrapped =
        std::make_shared<const std::string>(sse::DataFrame(id, sse::WrapEvent(e.protocol, e.json)));
    batch->push_back(std::move(item));
  }
  sink_.Deliver(batch);

  std::size_t next = 0;
  for (Request& r : group) {
    PublishOutcome outcome;
    outcome.events.reserve(r.drafts.size());
    for (std::size_t i = 0; i < r.drafts.size(); ++i, ++next) {
      const StoredEvent& e = (*stored.value)[next];
      std::size_t connections = limiter_.Count(e.user, Stream::kContexts);
      if (auto primary = PrimaryStream(e.protocol)) connections += limiter_.Count(e.user, *primary);
      outcome.events.push_back(PublishedEvent{e.id, connections});
    }
    metrics_.PublishLatency(std::chrono::steady_clock::now() - r.accepted_at);
    Complete(r.done, std::move(outcome));
  }
}

void Publisher::Complete(Completion& done, PublishOutcome outcome) {
  std::move(done)(std::move(outcome));
}

void Publisher::MaybePrune() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_prune_ < options_.prune_interval) return;
  last_prune_ = now;
  auto pruned = store_.Prune(options_.retention, clock_(), options_.prune_rows_per_pass);
  if (!pruned.ok()) {
    metrics_.StoreError();
    spdlog::warn("retention pruning failed: {}", pruned.error.message);
  } else if (*pruned.value > 0) {
    spdlog::debug("retention pruned {} events", *pruned.value);
  }
}

}  // namespace herald::hub
