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
      clock_(clock),
      commit_on_caller_(options.commit_on_caller && store.QuickCommits()) {}

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
  Completion refused;               // set when the request is refused: its completion, called below
  std::optional<Request> in_place;  // the request, when this thread commits it (a group of one)
  bool wake_writer = false;
  {
    std::lock_guard lock(mutex_);
    const bool full = pending_events_ + request.events > options_.max_pending_events ||
                      pending_bytes_ + request.bytes > options_.max_pending_bytes;
    // A single request larger than the bound still goes through when nothing else is queued.
    if (!stopping_ && (!full || pending_events_ == 0)) {
      pending_events_ += request.events;
      pending_bytes_ += request.bytes;
      request.accepted_at = clock_.Monotonic();
      // Nothing queued before it, so committing it now keeps every user's order; and the request
      // before it came a while ago, so requests are not arriving back to back (then the writer
      // thread groups them and the I/O thread goes on reading).
      const bool quiet = request.accepted_at - last_accepted_ >= options_.in_place_quiet_gap;
      last_accepted_ = request.accepted_at;
      if (commit_on_caller_ && !committing_ && queue_.empty() && quiet) {
        committing_ = true;
        ++commits_in_place_;
        in_place.emplace(std::move(request));
      } else {
        queue_.push_back(std::move(request));
        // A committing thread looks at the queue when it is done: no wake-up needed then.
        wake_writer = !committing_;
      }
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
  if (in_place) {
    CommitInPlace(std::move(*in_place));
  } else if (wake_writer) {
    wake_.notify_all();
  }
}

void Publisher::CommitInPlace(Request request) {
  // Gives the turn back even if the group throws (it returns its errors; a throw here is an
  // allocation failure), waking the writer thread when requests queued meanwhile or it waits
  // for its turn (a prune, Drain).
  struct TurnBack {
    Publisher& publisher;
    explicit TurnBack(Publisher& p) : publisher(p) {}
    TurnBack(const TurnBack&) = delete;
    TurnBack& operator=(const TurnBack&) = delete;
    TurnBack(TurnBack&&) = delete;
    TurnBack& operator=(TurnBack&&) = delete;
    ~TurnBack() {
      bool wake = false;
      {
        std::lock_guard lock(publisher.mutex_);
        publisher.committing_ = false;
        wake = !publisher.queue_.empty() || publisher.awaiting_turn_ > 0;
      }
      if (wake) publisher.wake_.notify_all();
    }
  } turn_back(*this);
  auto opened = store_.TryBeginGroup();
  if (opened.has_value() && *opened == nullptr) {
    // Another process holds the store's write lock (a backup, an sqlite3 shell): the writer
    // thread waits for it, never an I/O thread. First in the queue, as it was accepted first;
    // the turn given back wakes the writer.
    std::lock_guard lock(mutex_);
    queue_.push_front(std::move(request));
    return;
  }
  std::vector<Request> group;
  group.push_back(std::move(request));
  CommitGroup(group, std::move(opened));
}

void Publisher::AwaitWriterTurn(std::unique_lock<std::mutex>& lock) {
  ++awaiting_turn_;
  wake_.wait(lock, [this] { return !committing_; });
  --awaiting_turn_;
}

void Publisher::Drain() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // A commit in place that was under way when the writer thread ended.
  std::unique_lock lock(mutex_);
  AwaitWriterTurn(lock);
}

void Publisher::Run() {
  std::vector<Request> group;
  std::uint64_t commits_in_place_seen = 0;
  for (;;) {
    bool idle = false;
    {
      std::unique_lock lock(mutex_);
      // With a pruning backlog, come back at once for the next pass (between groups).
      wake_.wait_for(lock, prune_backlog_ ? std::chrono::milliseconds(0) : options_.prune_interval,
                     [this] { return stopping_ || (!queue_.empty() && !committing_); });
      // Woken by the timer or Drain during a commit in place: the store is that thread's.
      if (committing_) AwaitWriterTurn(lock);
      if (queue_.empty() && stopping_) return;
      std::size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() || events + queue_.front().events <= options_.max_group_events)) {
        events += queue_.front().events;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      idle = group.empty() && commits_in_place_ == commits_in_place_seen;
      commits_in_place_seen = commits_in_place_;
      committing_ = true;
    }
    if (!group.empty()) {
      CommitGroup(group, store_.BeginGroup());
      group.clear();
    }
    MaybePrune();
    MaybeReturnMemory(idle);
    std::lock_guard lock(mutex_);
    committing_ = false;
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
