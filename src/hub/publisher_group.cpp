// One group of the write path, top-down (publisher.h): plan and store it in one transaction,
// deliver what was stored, work out each request's outcome, release the group's share of the
// pending bounds, complete. Run by whichever thread holds the writer's turn.
#include <spdlog/spdlog.h>

#include <unordered_map>

#include "hub/publisher.h"  // IWYU pragma: associated

namespace herald::hub {

namespace {

Error StoreUnavailable() {
  return Error{ErrorCode::kServiceUnavailable,
               "The event store is unavailable; retry shortly.",
               {},
               std::chrono::seconds(1)};
}

// POST /contexts/{id}/events for a context the user does not have. Context ids are per user, so
// another user's context of the same id is neither found nor revealed.
Error ContextNotFound() { return Error{ErrorCode::kNotFound, "Context not found.", {}, {}}; }

Error KeyReused() {
  return Error{ErrorCode::kValidationError,
               "This Idempotency-Key was already used for a different request.",
               "Idempotency-Key",
               {}};
}

}  // namespace

std::size_t Publisher::ConnectionCount(const UserId& user, Protocol protocol) const {
  std::size_t connections = limiter_.Count(user, Stream::kContexts);
  if (auto primary = PrimaryStream(protocol)) connections += limiter_.Count(user, *primary);
  return connections;
}

// What becomes of one request of a group: its drafts are appended (each at `positions[k]` of
// the group's drafts, or refused), or it is a context command, or it replays a key stored
// earlier, or it repeats the key of an earlier request in this group (`leader`).
struct Publisher::RequestPlan {
  enum class Kind { kAppend, kCommand, kReplay, kFollow };
  Kind kind = Kind::kAppend;
  std::vector<std::size_t> positions;
  Result<store::ContextRecord> answer;  // kCommand: the context, or why it was refused
  std::size_t leader = 0;
  std::optional<store::IdempotencyRecord> record;
};

// One group's work: a plan per request, and what the transaction writes.
struct Publisher::GroupWork {
  std::chrono::system_clock::time_point now;
  std::vector<RequestPlan> plans;
  std::unordered_map<std::string, std::size_t> claimed;  // Idempotency-Key -> its request
  std::vector<EventDraft> drafts;
  std::vector<store::IdempotencyClaim> claims;
};

// A group, top-down: plan and store it in one transaction, deliver what was stored, work out
// each request's outcome, release the group's share of the pending bounds, complete.
void Publisher::CommitGroup(std::vector<Request>& group, Opened opened) {
  GroupWork work;
  work.now = clock_.Now();
  work.plans.resize(group.size());
  const auto stored = StoreGroup(group, std::move(opened), work);
  if (!stored.has_value()) {
    metrics_.StoreError();
    spdlog::error("store append of {} events failed: {}", work.drafts.size(),
                  stored.error().message);
  } else if (!stored->empty()) {
    Deliver(*stored);
  }
  std::vector<PublishOutcome> outcomes(group.size());
  for (std::size_t i = 0; i < group.size(); ++i) {
    // A follower copies the outcome of its leader, an earlier request.
    if (stored.has_value()) {
      outcomes[i] = OutcomeOf(group, i, work.plans[i], *stored, outcomes);
    } else {
      outcomes[i] = StoreUnavailable();
    }
  }
  ReleasePending(group);
  const auto done_at = clock_.Monotonic();
  for (std::size_t i = 0; i < group.size(); ++i) {
    metrics_.PublishLatency(done_at - group[i].accepted_at);
    Complete(group[i].done, std::move(outcomes[i]));
  }
}

// Requests are planned in order against the contexts as this group leaves them, inside the
// group's transaction, so that no other writer (another node of a cluster) commits in between.
// A store error while planning fails the whole group: a half-planned request must not leave
// changes behind.
Result<std::vector<StoredEvent>> Publisher::StoreGroup(std::vector<Request>& group, Opened opened,
                                                       GroupWork& work) {
  using Stored = Result<std::vector<StoredEvent>>;
  if (!opened.has_value()) {
    spdlog::error("store: cannot open a write group: {}", opened.error().message);
    return store::StoreFailure(std::move(opened.error().message));
  }
  std::unique_ptr<store::WriteGroup> transaction = std::move(*opened);
  GroupContexts contexts(
      *transaction, work.now, options_.contexts_auto_create,
      ContextLimits{.max_per_user = options_.max_contexts_per_user,
                    .creates = options_.context_creates.limited() ? &context_creates_ : nullptr,
                    .metrics = &metrics_,
                    .clock = &clock_});
  std::size_t events = 0;  // at most: a refused event is not drafted, a command drafts one
  for (const Request& r : group) events += r.drafts.size() + (r.command ? 1 : 0);
  work.drafts.reserve(events);
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (auto planned = PlanRequest(group, i, *transaction, contexts, work); !planned) {
      return planned.error();
    }
  }
  if (work.drafts.empty())
    return Stored(std::vector<StoredEvent>{});  // the transaction ends with nothing written
  return transaction->Commit(work.drafts, work.claims, contexts.Writes(), work.now);
}

// Plans request `i`; the store's error when it fails.
Result<void> Publisher::PlanRequest(std::vector<Request>& group, std::size_t i,
                                    store::WriteGroup& transaction, GroupContexts& contexts,
                                    GroupWork& work) {
  constexpr std::size_t kRefused = store::IdempotencyClaim::kRefused;
  Request& r = group[i];
  RequestPlan& plan = work.plans[i];
  if (r.command) {
    plan.kind = RequestPlan::Kind::kCommand;
    auto answer = contexts.Apply(*r.command, work.drafts);
    if (!answer && store::IsStoreFailure(answer.error())) return answer.error();
    if (answer) plan.positions.push_back(work.drafts.size() - 1);
    plan.answer = std::move(answer);
    return {};
  }
  if (r.idempotency) {
    const std::string& key = r.idempotency->key;
    if (const auto leader = work.claimed.find(key); leader != work.claimed.end()) {
      plan.kind = RequestPlan::Kind::kFollow;
      plan.leader = leader->second;
      return {};
    }
    auto found = transaction.FindIdempotencyKey(key, work.now);
    if (!found) return found.error();
    if (*found) {
      plan.kind = RequestPlan::Kind::kReplay;
      plan.record = std::move(*found);
      return {};
    }
    work.claimed.emplace(key, i);
  }
  for (EventDraft& d : r.drafts) {
    const auto verdict = contexts.Attribute(d, work.drafts);
    if (verdict == GroupContexts::Verdict::kStoreError)
      return store::StoreFailure("planning failed");
    if (verdict == GroupContexts::Verdict::kNotFound) {
      plan.positions.push_back(kRefused);
    } else {
      plan.positions.push_back(work.drafts.size());
      work.drafts.push_back(std::move(d));
    }
  }
  if (r.idempotency) {
    work.claims.push_back(store::IdempotencyClaim{r.idempotency->key, r.idempotency->fingerprint,
                                                  plan.positions,
                                                  work.now + options_.idempotency_ttl});
  }
  return {};
}

void Publisher::Deliver(const std::vector<StoredEvent>& stored) {
  auto batch = std::make_shared<DeliveryBatch>();
  batch->reserve(stored.size());
  for (const StoredEvent& e : stored) {
    metrics_.EventStored(e.protocol, e.type);
    batch->push_back(MakeDeliveryItem(e));
  }
  sink_.Deliver(batch);
}

PublishOutcome Publisher::OutcomeOf(const std::vector<Request>& group, std::size_t i,
                                    RequestPlan& plan, const std::vector<StoredEvent>& stored,
                                    const std::vector<PublishOutcome>& outcomes) const {
  const Request& r = group[i];
  Published published;
  switch (plan.kind) {
    case RequestPlan::Kind::kCommand:
      if (!plan.answer) return plan.answer.error();
      published.context = *std::move(plan.answer);
      published.events.emplace_back(PublishedEvent{stored[plan.positions.front()].id, 0});
      break;
    case RequestPlan::Kind::kAppend:
      for (std::size_t position : plan.positions) {
        if (position == store::IdempotencyClaim::kRefused) {
          published.events.emplace_back(ContextNotFound());
          continue;
        }
        const StoredEvent& e = stored[position];
        published.events.emplace_back(PublishedEvent{e.id, ConnectionCount(e.user, e.protocol)});
      }
      break;
    case RequestPlan::Kind::kReplay:
      return ReplayOutcome(r, *plan.record);
    case RequestPlan::Kind::kFollow: {
      if (group[plan.leader].idempotency->fingerprint != r.idempotency->fingerprint) {
        return KeyReused();
      }
      PublishOutcome outcome = outcomes[plan.leader];
      if (outcome) outcome->replayed = true;
      return outcome;
    }
  }
  return published;
}

// A retry of a request stored earlier (its Idempotency-Key's record): the original ids.
PublishOutcome Publisher::ReplayOutcome(const Request& r,
                                        const store::IdempotencyRecord& record) const {
  if (record.fingerprint != r.idempotency->fingerprint) return KeyReused();
  Published published;
  published.replayed = true;
  for (std::size_t k = 0; k < record.event_ids.size(); ++k) {
    const EventId& id = record.event_ids[k];
    if (id.sequence == 0) {
      published.events.emplace_back(ContextNotFound());
      continue;
    }
    const std::size_t connections =
        k < r.drafts.size() ? ConnectionCount(r.drafts[k].user, r.drafts[k].protocol) : 0;
    published.events.emplace_back(PublishedEvent{id, connections});
  }
  return published;
}

// The group is no longer pending: its share of the bounds is released before it completes, so
// that a publisher that sends its next request as soon as it has this answer is not refused by
// its own, already committed, request.
void Publisher::ReleasePending(const std::vector<Request>& group) {
  std::size_t events = 0;
  std::size_t bytes = 0;
  for (const Request& r : group) {
    events += r.events;
    bytes += r.bytes;
  }
  std::lock_guard lock(mutex_);
  pending_events_ -= events;
  pending_bytes_ -= bytes;
}

void Publisher::Complete(Completion& done, PublishOutcome outcome) {
  std::move(done)(std::move(outcome));
}

}  // namespace herald::hub
