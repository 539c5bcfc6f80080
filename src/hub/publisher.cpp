#include "hub/publisher.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <spdlog/spdlog.h>

namespace herald::hub {

namespace {

std::size_t DraftBytes(const std::vector<EventDraft>& drafts) {
  std::size_t bytes = 0;
  for (const EventDraft& d : drafts) bytes += d.json.size() + d.user.str().size() + 64;
  return bytes;
}

}  // namespace

Publisher::Publisher(store::EventStore& store, DeliverySink& sink, const ConnectionLimiter& limiter,
                     Metrics& metrics, PublisherOptions options, const Clock& clock)
    : store_(store),
      sink_(sink),
      limiter_(limiter),
      metrics_(metrics),
      options_(options),
      clock_(clock) {}

Publisher::~Publisher() { Drain(); }

void Publisher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Publisher::Submit(std::vector<EventDraft> drafts, std::optional<IdempotencyKey> idempotency,
                       Completion done) {
  Request request;
  request.events = drafts.size();
  request.bytes = DraftBytes(drafts);
  request.drafts = std::move(drafts);
  request.idempotency = std::move(idempotency);
  request.done = std::move(done);
  Enqueue(std::move(request));
}

void Publisher::Submit(ContextCommand command, Completion done) {
  Request request;
  request.events = 1;
  request.bytes = command.name.size() + command.id.str().size() + command.user.str().size() + 64;
  request.command = std::move(command);
  request.done = std::move(done);
  Enqueue(std::move(request));
}

void Publisher::Enqueue(Request request) {
  Completion refused;  // set when the request is refused: its completion, called below
  {
    std::lock_guard lock(mutex_);
    const bool full = pending_events_ + request.events > options_.max_pending_events ||
                      pending_bytes_ + request.bytes > options_.max_pending_bytes;
    // A single request larger than the bound still goes through when nothing else is queued.
    if (!stopping_ && (!full || pending_events_ == 0)) {
      pending_events_ += request.events;
      pending_bytes_ += request.bytes;
      request.accepted_at = clock_.Monotonic();
      queue_.push_back(std::move(request));
    } else {
      refused = std::move(request.done);
    }
  }
  if (refused) {
    // Completed outside the lock: a completion may do anything, including publishing again.
    metrics_.PublishRejected();
    Complete(refused, Error{ErrorCode::kServiceUnavailable,
                            "The hub is busy storing events; retry shortly.",
                            {},
                            std::chrono::seconds(1)});
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
      // With a pruning backlog, come back at once for the next pass (between groups).
      wake_.wait_for(lock, prune_backlog_ ? std::chrono::milliseconds(0) : options_.prune_interval,
                     [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      std::size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() || events + queue_.front().events <= options_.max_group_events)) {
        events += queue_.front().events;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const bool idle = group.empty();
    if (!idle) {
      CommitGroup(group);
      group.clear();
    }
    MaybePrune();
    MaybeReturnMemory(idle);
  }
}

void Publisher::MaybeReturnMemory(bool idle) {
  const auto now = clock_.Monotonic();
  if (!idle || now - last_trim_ < kTrimInterval) return;
  last_trim_ = now;
  store_.ReleaseMemory();
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

void Publisher::MaybePrune() {
  const auto now = clock_.Monotonic();
  if (!prune_backlog_ && now - last_prune_ < options_.prune_interval) return;
  last_prune_ = now;
  auto pruned = store_.Prune(options_.retention, clock_.Now(), options_.prune_rows_per_pass);
  // A full pass means more is waiting: keep pruning, one bounded pass between groups, so that
  // retention keeps up with any sustained publish rate instead of rows_per_pass per interval.
  prune_backlog_ = pruned.has_value() && *pruned >= options_.prune_rows_per_pass;
  if (!pruned.has_value()) {
    metrics_.StoreError();
    spdlog::warn("retention pruning failed: {}", pruned.error().message);
  } else if (*pruned > 0) {
    spdlog::debug("retention pruned {} events", *pruned);
  }
}

}  // namespace herald::hub
