// The write path: publishes queue here, one writer thread stores them in groups (one store
// transaction per group), then fans each group out to every shard and completes the publishers.
//
//   I/O thread ── Submit() ──▶ bounded queue ──▶ writer thread: store.Append(group)
//                                                   ├─▶ DeliverySink::Deliver(batch)  (all shards)
//                                                   └─▶ post completion to each publisher
//
// Because one thread commits and posts in commit order, every shard sees a user's events in
// sequence order (spec §4, order).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
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
  // Called on the writer thread (or the submitting thread on rejection); it must only hand the
  // outcome over to the publisher's own executor.
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

  // Thread-safe. Stops accepting, stores and completes everything already accepted, and joins
  // the writer thread.
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
  void Run();
  struct RequestPlan;
  struct GroupWork;
  // One group, in steps (publisher_group.cpp): CommitGroup calls StoreGroup (which plans each
  // request with PlanRequest inside the transaction, then commits), Deliver, OutcomeOf
  // (ReplayOutcome for an Idempotency-Key stored earlier) per request, ReleasePending, and
  // completes.
  void CommitGroup(std::vector<Request>& group);
  Result<std::vector<StoredEvent>> StoreGroup(std::vector<Request>& group, GroupWork& work);
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
  RateLimiter context_creates_{options_.context_creates};  // writer thread

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Request> queue_;
  std::size_t pending_events_ = 0;
  std::size_t pending_bytes_ = 0;
  bool stopping_ = false;
  std::thread thread_;
  std::chrono::steady_clock::time_point last_prune_{};
  bool prune_backlog_ = false;  // writer thread only: the last pass hit its row cap
  std::chrono::steady_clock::time_point last_trim_{};  // writer thread only
};

}  // namespace herald::hub
