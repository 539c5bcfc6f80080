// The event store interface (spec §4, §7): numbers events per user, keeps them durably, and
// reads them back for resume. Implementations: MemoryStore (tests, `--store memory:`),
// SqliteStore (the embedded default), PgStore (`--store postgresql://…`, a cluster's shared
// store).
//
// Thread rules: write groups (BeginGroup) and Prune() belong to the process's one writer: the
// publisher's writer thread, or an I/O thread committing in its place while it is idle (never two
// at once; hub/publisher.h). Read-side calls (ReadAfter, Range, ReadContexts) are thread-safe and
// may run concurrently with a group on other threads; they never run on an I/O thread.
#pragma once

#include <algorithm>
#include <boost/system/errc.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/event.h"
#include "core/event_id.h"
#include "core/ids.h"

namespace herald::store {

// A store failure (disk full, database gone, corrupted file): what a client is told is that the
// service is unavailable; the message is for logs only. Every read and write returns a
// Result<T> (core/error.h) holding the value or this Error. Its cause (errc::io_error) tells it
// from a refusal by a caller that mixes the two (IsStoreFailure).
inline Error StoreFailure(std::string message) {
  return Error{ErrorCode::kServiceUnavailable,
               std::move(message),
               {},
               {},
               make_error_code(boost::system::errc::io_error)};
}

inline bool IsStoreFailure(const Error& error) {
  return error.cause == boost::system::errc::io_error;
}

// What the store holds for one user: sequences in [first, last] are retained; first == last + 1
// when nothing is retained; last == 0 when the user never had an event.
struct UserRange {
  std::uint64_t first = 1;
  std::uint64_t last = 0;
};

// Which events a replay wants: one stream's (spec §3.3), optionally only one context's.
struct ReplayFilter {
  Stream stream = Stream::kContexts;
  std::optional<ContextId> context;
};

struct ReplayPage {
  std::vector<StoredEvent> events;  // in sequence order, all with sequence > the requested one
  bool more = false;                // another page follows (call again from the last sequence)
};

struct RetentionPolicy {
  std::size_t max_events_per_user = 10'000;
  std::chrono::seconds max_age{24 * 3600};
};

// Idempotency-Key support (spec §1.2). A request's key is stored with the ids of its events in
// the same transaction as the events, so a retry still finds it after a crash.
struct IdempotencyClaim {
  std::string key;          // already scoped by the caller (user, route, header value)
  std::string fingerprint;  // of the request: reusing a key for another request is refused
  // Per event of the request, in its order: the index of its draft in Append's span, or
  // kRefused for an event the hub refused at commit time (recorded with sequence 0).
  std::vector<std::size_t> drafts;
  std::chrono::system_clock::time_point expires_at;
  static constexpr std::size_t kRefused = static_cast<std::size_t>(-1);
};

struct IdempotencyRecord {
  std::string fingerprint;
  std::vector<EventId> event_ids;  // in the request's order; sequence 0: refused
};

// A context's identity: its id among its user's contexts. Two users who use the same id (the
// same AG-UI threadId, say) have two contexts, and neither can learn of the other's.
struct ContextKey {
  UserId user;
  ContextId id;

  friend bool operator==(const ContextKey&, const ContextKey&) = default;
};

// A context (conversation, spec §1.3) with its statistics (spec §3.4). Times are Unix ms.
struct ContextRecord {
  ContextId id;
  UserId owner;
  std::string name;
  std::string kind;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::uint64_t task_count = 0;
  std::uint64_t message_count = 0;
  std::optional<std::int64_t> last_message_at_ms;

  ContextKey key() const { return {owner, id}; }
  friend bool operator==(const ContextRecord&, const ContextRecord&) = default;
};

// What a group commit does to one context, in the transaction of the events that caused it.
struct ContextWrite {
  ContextKey key;
  std::optional<ContextRecord> record;  // the row afterwards; nullopt: the context is deleted
  bool reset_tasks = false;             // forget its task ids first (deleted and re-created)
  std::vector<std::string> new_tasks;   // task ids seen for the first time
};

// The list order of spec §1.3: newest updated_at first; ties by id, so the order is stable.
inline void SortNewestFirst(std::vector<ContextRecord>& contexts) {
  std::sort(contexts.begin(), contexts.end(), [](const ContextRecord& a, const ContextRecord& b) {
    if (a.updated_at_ms != b.updated_at_ms) return a.updated_at_ms > b.updated_at_ms;
    return a.id < b.id;
  });
}

// A context's place in the list order (SortNewestFirst): what a page of the list continues after.
struct ContextPosition {
  std::int64_t updated_at_ms = 0;
  ContextId id;
};

// Whether `context` comes after `position` in the list order.
inline bool ComesAfter(const ContextRecord& context, const ContextPosition& position) {
  return context.updated_at_ms < position.updated_at_ms ||
         (context.updated_at_ms == position.updated_at_ms && position.id < context.id);
}

// Which of a user's contexts a read returns, in the list order.
struct ContextQuery {
  std::optional<ContextId> only;         // that one alone (when the user has it)
  std::optional<ContextPosition> after;  // only those after it in the list order
  std::size_t limit = 0;                 // at most this many; 0: no limit
};

// A user's contexts and the range of their events, read from one snapshot of the store, so that
// the contexts reflect exactly the events up to range.last (spec §4, snapshot consistency).
struct ContextsView {
  std::vector<ContextRecord> contexts;  // newest updated_at first, then by id
  std::uint64_t total = 0;              // how many the query selects without `after` and `limit`
  UserRange range;
};

// One group commit: a write transaction. Its reads see every group committed before it began
// (by any process sharing the store) and no other group commits until it ends, so idempotency
// look-ups, context checks and the drawing of ids all happen inside the group's commit. Writer
// thread only; at most one group is open per store. Destroyed without a successful Commit, it
// rolls back and consumes no sequence.
class WriteGroup {
 public:
  virtual ~WriteGroup() = default;

  virtual Result<std::optional<ContextRecord>> FindContext(const ContextKey& key) = 0;
  virtual Result<bool> TaskSeen(const ContextKey& context, const std::string& task) = 0;
  // How many contexts `user` has (as committed before this group).
  virtual Result<std::uint64_t> CountContexts(const UserId& user) = 0;
  // The record of an unexpired key, or nullopt.
  virtual Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(
      const std::string& key, std::chrono::system_clock::time_point now) = 0;

  // Numbers every draft with its user's next sequence and commits them, together with `claims`
  // and `contexts` (at most one write per context). On success the StoredEvents come back in
  // input order (in a cluster store with consecutive log positions in that order); on failure
  // nothing is committed. Called at most once.
  virtual Result<std::vector<StoredEvent>> Commit(std::span<const EventDraft> drafts,
                                                  std::span<const IdempotencyClaim> claims,
                                                  std::span<const ContextWrite> contexts,
                                                  std::chrono::system_clock::time_point now) = 0;
};

// A cluster store's log in commit order (spec §7), as one process's relay follows it: every
// committed event has a position, positions are gapless and become visible in increasing
// order, and each commit sends a notification carrying the log's new head. Used by one relay
// thread; only Wake() is thread-safe.
class LogListener {
 public:
  virtual ~LogListener() = default;

  // (Re)connects and, with `listen`, subscribes to commit notifications (without, Wait only
  // times out or wakes: polling alone); returns the position of the newest committed event (0
  // for an empty log). Notifications sent while disconnected are lost: the caller reads from its
  // cursor after every Connect.
  virtual Result<std::uint64_t> Connect(bool listen) = 0;
  // Committed events with position > after, in position order, at most `limit`.
  virtual Result<std::vector<StoredEvent>> ReadAfter(std::uint64_t after, std::size_t limit) = 0;
  // Waits at most `timeout` for a notification or a Wake(). Returns the highest head announced
  // by the notifications received (0 when none: woken or timed out); an error when the
  // connection is lost.
  virtual Result<std::uint64_t> Wait(std::chrono::milliseconds timeout) = 0;
  // Thread-safe: makes the current or next Wait() return at once.
  virtual void Wake() = 0;
};

// A cluster store's record of which nodes are alive and how many streams each holds per user
// and stream (spec §6: the per-user cap holds across nodes). A node is alive while its lease,
// renewed by Heartbeat, has not expired; the counts of a dead node no longer count. Thread-safe.
class NodeRegistry {
 public:
  virtual ~NodeRegistry() = default;

  // Counts one more stream of `user` on `stream` for this node when all live nodes together
  // hold fewer than `cap`; false when they hold `cap` already. One user's admissions are
  // serialised across the cluster.
  virtual Result<bool> Admit(const UserId& user, Stream stream, std::size_t cap) = 0;
  virtual Result<bool> Release(const UserId& user, Stream stream) = 0;
  // Renews this node's lease (registering it first), forgets dead nodes' counts, and returns the
  // number of streams each live node holds. `counts` (this node's own, by user and stream)
  // replace the node's rows when the lease had lapsed or when `rewrite` is set (e.g. after a
  // release failed), so that they are whole again.
  struct NodeCount {
    std::string node;
    std::uint64_t streams = 0;
  };
  using Counts = std::vector<std::tuple<UserId, Stream, std::size_t>>;
  virtual Result<std::vector<NodeCount>> Heartbeat(std::chrono::seconds lease, const Counts& counts,
                                                   bool rewrite) = 0;
  // Removes this node and its counts (a clean shutdown).
  virtual void Leave() = 0;
  virtual const std::string& node() const = 0;
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // The random identity of this store's history, carried in every EventId. Thread-safe.
  virtual std::uint32_t History() const = 0;

  // Whether a commit returns without waiting on a disk flush or the network (SQLite with
  // `--durability normal`, the memory store): the publisher then lets an I/O thread commit in the
  // idle writer's place (hub/publisher.h), opening the group with TryBeginGroup. False for a
  // store whose commit may block for milliseconds, which would stall every stream of that I/O
  // thread.
  virtual bool QuickCommits() const { return false; }

  // Writer only. Opens a write group (a transaction), waiting for a lock another process holds
  // (up to the store's busy timeout); an error when the store is unreachable.
  virtual Result<std::unique_ptr<WriteGroup>> BeginGroup() = 0;

  // Writer only, for a commit in place. Like BeginGroup, but never waits: when another process
  // holds the store's write lock (an operator's `sqlite3` shell, a backup) the value is an empty
  // pointer, no group, and the caller hands its work to the writer thread, which may wait.
  // Stores whose QuickCommits() is true and that share a lock with other processes override it.
  virtual Result<std::unique_ptr<WriteGroup>> TryBeginGroup() { return BeginGroup(); }

  // The log a relay follows, for stores shared by several processes; nullptr for a store that
  // only this process writes (every commit is then delivered by the committing publisher).
  virtual std::unique_ptr<LogListener> OpenLogListener() { return nullptr; }
  // This process's entry in a cluster store's node registry; nullptr for a one-process store.
  virtual std::unique_ptr<NodeRegistry> JoinCluster() { return nullptr; }

  // One-shot writes and writer-side reads, each in a group of its own (tests and tools; the
  // publisher plans a whole group in one).
  Result<std::vector<StoredEvent>> Append(std::span<const EventDraft> drafts,
                                          std::span<const IdempotencyClaim> claims,
                                          std::span<const ContextWrite> contexts,
                                          std::chrono::system_clock::time_point now);
  Result<std::vector<StoredEvent>> Append(std::span<const EventDraft> drafts,
                                          std::span<const IdempotencyClaim> claims,
                                          std::chrono::system_clock::time_point now) {
    return Append(drafts, claims, {}, now);
  }
  Result<std::vector<StoredEvent>> Append(std::span<const EventDraft> drafts,
                                          std::chrono::system_clock::time_point now) {
    return Append(drafts, {}, {}, now);
  }
  Result<std::optional<ContextRecord>> FindContext(const ContextKey& key);
  Result<bool> TaskSeen(const ContextKey& context, const std::string& task);
  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(
      const std::string& key, std::chrono::system_clock::time_point now);

  // Thread-safe. The user's contexts that `query` selects, how many it would select without a
  // page (`after`, `limit`), and the user's event range, from one consistent snapshot.
  virtual Result<ContextsView> ReadContexts(const UserId& user, const ContextQuery& query) = 0;

  // Thread-safe. The user's events with sequence > after_sequence that `filter` selects, in
  // order, at most `limit` of them.
  virtual Result<ReplayPage> ReadAfter(const UserId& user, std::uint64_t after_sequence,
                                       const ReplayFilter& filter, std::size_t limit) = 0;

  // Thread-safe. The retained range of the user's sequences.
  virtual Result<UserRange> Range(const UserId& user) = 0;

  // Writer only. Deletes events beyond the policy and expired idempotency keys, at most
  // `max_rows` per call so that publishes are never held up for long; returns how many events
  // were deleted.
  virtual Result<std::size_t> Prune(const RetentionPolicy& policy,
                                    std::chrono::system_clock::time_point now,
                                    std::size_t max_rows) = 0;

  // Writer only. Frees what the store keeps cached between calls and can read again
  // (SQLite's page caches); the publisher calls it while idle. Nothing to free by default.
  virtual void ReleaseMemory() {}
};

}  // namespace herald::store

template <>
struct std::hash<herald::store::ContextKey> {
  std::size_t operator()(const herald::store::ContextKey& key) const noexcept {
    const std::size_t user = std::hash<herald::UserId>{}(key.user);
    return user ^ (std::hash<herald::ContextId>{}(key.id) + 0x9e3779b97f4a7c15ULL + (user << 6) +
                   (user >> 2));
  }
};
