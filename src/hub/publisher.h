// The write path: publishes queue here, one writer thread stores them in groups (one store
// transaction per group), then fans each group out to every shard and completes the publishers.
//
//   I/O thread ── Submit() ──▶ bounded queue ──▶ writer thread: store.Append(group)
//                                                   ├─▶ DeliverySink::Deliver(batch)  (all shards)
//                                                   └─▶ post completion to each publisher
//
// Commit in place: when the writer is idle and nothing is queued, and the store's commits do not
// wait on a disk flush or the network (EventStore::QuickCommits), the submitting I/O thread
// commits its request itself, as a group of one, instead of handing it to the writer thread and
// waiting for the completion to come back: at low and moderate rates that saves the two thread
// wake-ups a publish otherwise costs (docs/DECISIONS.md "Commit in place"). Requests that arrive
// meanwhile queue for the writer thread and are grouped as before. A commit in place never
// waits for a lock: when another process holds the store's write lock (EventStore::
// TryBeginGroup), the request goes to the writer thread, which does.
//
// One writer at a time (the flag `committing_`): a group is stored, delivered and completed by
// one thread before the next group starts, so every shard sees a user's events in sequence
// order (spec §4, order).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/event.h"
#include "hub/connection_limiter.h"
#include "hub/contexts.h"
#include "hub/metrics.h"
#include "hub/shard.h"
#include "store/event_store.h"

namespace herald::hub {

struct PublishedEvent {
  EventId id;
  // Local stream deliveries: the user's connections on the event's protocol stream plus those
  // on the contexts stream (spec §1.2).
  std::size_t connection_count = 0;
};

// What a stored request became.
struct Published {
  // One per draft, in order. An error: the event was refused when its group was planned (its
  // context belongs to another user, spec §3.4), and this event alone was not stored.
  std::vector<Result<PublishedEvent>> events;
  bool replayed = false;                        // an Idempotency-Key retry: nothing new was stored
  std::optional<store::ContextRecord> context;  // a context command's context
};

// A request's outcome: what was stored, or the Error when nothing was.
using PublishOutcome = Result<Published>;

// A request's Idempotency-Key (spec §1.2), already scoped to the caller and route.
struct IdempotencyKey {
  std::string key;
  std::string fingerprint;  // of the request body
};

struct PublisherOptions {
  // Back-pressure bounds on work accepted but not yet committed (spec §6).
  std::size_t max_pending_events = 65'536;
  std::size_t max_pending_bytes = 64 * 1024 * 1024;
  // The largest group one transaction takes.
  std::size_t max_group_events = 8'192;
  store::RetentionPolicy retention;
  // How long an Idempotency-Key is remembered (spec: at least 10 minutes).
  std::chrono::seconds idempotency_ttl{3600};
  std::chrono::milliseconds prune_interval{1000};
  std::size_t prune_rows_per_pass = 2'000;
  // Commit in place (above) when the store allows it; off to keep every commit on the writer
  // thread (tests of the queue and its bounds).
  bool commit_on_caller = true;
  // ... and only when the request before it came at least this long before it: under a steady
  // stream of requests the writer thread groups them (fewer commits) while the I/O thread goes
  // on reading, which a commit in place, a group of one on that thread, would hold up
  // (docs/DECISIONS.md "Commit in place").
  std::chrono::microseconds in_place_quiet_gap{100};
  // Whether an event attributed to an unknown context creates it (spec §3.4; off when contexts
  // are owned by another system).
  bool contexts_auto_create = true;
  // Contexts per user (0: no cap) and their creation rate per user (none unless set; `herald
  // serve`: docs/DECISIONS.md "Contexts").
  std::uint64_t max_contexts_per_user = 0;
  RateLimit context_creates;
};

class Publisher {
 public:
  // Called on the thread that committed (the writer thread, or the submitting thread when it
  // committed in place) or, on rejection, the submitting thread; it must only hand the outcome
  // over to the publisher's own executor.
  using Completion = std::function<void(PublishOutcome)>;
  Publisher(store::EventStore& store, DeliverySink& sink, const ConnectionLimiter& limiter,
            Metrics& metrics, PublisherOptions options, const Clock& clock);
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;
  ~Publisher();

  void Start();

  // Thread-safe. Queues the drafts; `done` is called once with the outcome. When the queue is over
  // its bounds or the hub is draining, `done` gets a service_unavailable error with Retry-After at
  // once (back-pressure, spec §6). With `idempotency`, a retry of a request whose events were
  // stored (even before a restart) completes with the original ids and `replayed` instead of
  // storing them again.
  void Submit(std::vector<EventDraft> drafts, std::optional<IdempotencyKey> idempotency,
              Completion done);
  void Submit(std::vector<EventDraft> drafts, Completion done) {
    Submit(std::move(drafts), std::nullopt, std::move(done));
  }
  // Thread-safe. Queues a context command (spec §1.3); `done` gets the context and the command's
  // system event, or not_found, or the errors above.
  void Submit(ContextCommand command, Completion done);

  // Thread-safe. Stops accepting, stores and completes everything already accepted (a commit in
  // place included), and joins the writer thread.
  void Drain();

 private:
  struct Request {
    std::vector<EventDraft> drafts;
    std::optional<IdempotencyKey> idempotency;
    std::optional<ContextCommand> command;
    std::size_t events = 0;  // its share of the pending bound
    std::size_t bytes = 0;
    Completion done;
    std::chrono::steady_clock::time_point accepted_at;
  };

  void Enqueue(Request request);
  // Commits `request` as a group of one on the calling thread, which holds the writer's turn;
  // if the store's write lock is another process's, queues it for the writer thread instead.
  void CommitInPlace(Request request);
  // Under `lock`: waits until no thread is committing (a commit in place ends by waking us).
  void AwaitWriterTurn(std::unique_lock<std::mutex>& lock);
  void Run();
  struct RequestPlan;
  struct GroupWork;
  // One group, in steps (publisher_group.cpp), in the transaction `opened` (or the store's
  // error opening it): CommitGroup calls StoreGroup (which plans each request with PlanRequest
  // inside the transaction, then commits), Deliver, OutcomeOf (ReplayOutcome for an
  // Idempotency-Key stored earlier) per request, ReleasePending, and completes.
  using Opened = Result<std::unique_ptr<store::WriteGroup>>;
  void CommitGroup(std::vector<Request>& group, Opened opened);
  Result<std::vector<StoredEvent>> StoreGroup(std::vector<Request>& group, Opened opened,
                                              GroupWork& work);
  Result<void> PlanRequest(std::vector<Request>& group, std::size_t i,
                           store::WriteGroup& transaction, GroupContexts& contexts,
                           GroupWork& work);
  void Deliver(const std::vector<StoredEvent>& stored);
  PublishOutcome OutcomeOf(const std::vector<Request>& group, std::size_t i, RequestPlan& plan,
                           const std::vector<StoredEvent>& stored,
                           const std::vector<PublishOutcome>& outcomes) const;
  PublishOutcome ReplayOutcome(const Request& r, const store::IdempotencyRecord& record) const;
  void ReleasePending(const std::vector<Request>& group);
  static void Complete(Completion& done, PublishOutcome outcome);
  std::size_t ConnectionCount(const UserId& user, Protocol protocol) const;
  void MaybePrune();
  // When the writer is idle (woken by its timer with nothing queued), at most every
  // kTrimInterval: empties the store's caches (EventStore::ReleaseMemory) and gives the C
  // library's free memory back to the system (malloc_trim, a few milliseconds). Large batches
  // and responses are freed in several threads' arenas, which glibc otherwise keeps;
  // docs/DECISIONS.md "Limits", bench/attack_replay.py.
  void MaybeReturnMemory(bool idle);
  static constexpr std::chrono::seconds kTrimInterval{5};

  store::EventStore& store_;
  DeliverySink& sink_;
  const ConnectionLimiter& limiter_;
  Metrics& metrics_;
  const PublisherOptions options_;
  const Clock& clock_;
  RateLimiter context_creates_{options_.context_creates};  // the committing thread
  const bool commit_on_caller_;  // options_.commit_on_caller and the store's QuickCommits()

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Request> queue_;
  std::size_t pending_events_ = 0;
  std::size_t pending_bytes_ = 0;
  bool stopping_ = false;
  // Under mutex_: a thread holds the writer's turn (a group, a prune, a memory trim).
  bool committing_ = false;
  // Under mutex_: when the last request was accepted (in_place_quiet_gap).
  std::chrono::steady_clock::time_point last_accepted_{};
  // Under mutex_: threads waiting for the turn; a commit in place wakes them when it ends.
  std::size_t awaiting_turn_ = 0;
  // Under mutex_: commits in place so far; the writer thread counts itself idle only when there
  // was none since it last looked (MaybeReturnMemory).
  std::uint64_t commits_in_place_ = 0;
  std::thread thread_;
  std::chrono::steady_clock::time_point last_prune_{};
  bool prune_backlog_ = false;  // writer thread only: the last pass hit its row cap
  std::chrono::steady_clock::time_point last_trim_{};  // writer thread only
};

}  // namespace herald::hub
