// Contexts on the write path (spec §1.3, §3.4): the commands that create, rename and delete them,
// and the attribution and statistics rules every published event goes through. Everything here
// runs on the writer thread, one group at a time, so it sees every earlier commit and nothing
// races it; what a group decides is committed in the group's own transaction.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/event.h"
#include "hub/metrics.h"
#include "hub/rate_limiter.h"
#include "store/event_store.h"

namespace herald::hub {

// The kind every context has (spec §1.3 lists the field without values; see docs/DECISIONS.md).
inline constexpr std::string_view kContextKind = "conversation";

// A context CRUD request (spec §1.3) on its way to the writer thread.
struct ContextCommand {
  enum class Kind { kCreate, kRename, kDelete };
  Kind kind = Kind::kCreate;
  UserId user;       // whose contexts
  ContextId id;      // kCreate: the caller's id, or a fresh one drawn for it
  std::string name;  // kCreate, kRename: already trimmed and checked
};

// How many contexts one user may have, and how fast they may come to be (issue 14; defaults in
// docs/DECISIONS.md "Contexts"). Past either, the contexts API's create is refused (409, 429) and
// an event that would create one is still stored and delivered, without creating it.
struct ContextLimits {
  std::uint64_t max_per_user = 0;  // 0: no cap
  RateLimiter* creates = nullptr;  // per user; nullptr: no rate limit
  Metrics* metrics = nullptr;      // counts refused creations, when given
  const Clock* clock = nullptr;    // the creation rate's (monotonic) time; required with `creates`
};

// "Conversation <unix-ms>": the name of a context created without one (spec §1.3).
std::string DefaultContextName(std::chrono::system_clock::time_point now);

// The contexts one group touches: loaded from the store on first use, changed in memory as the
// group's requests are planned in order, and written back with the group's events.
class GroupContexts {
 public:
  // Reads go through `group`, the transaction the planned writes are committed in. Without
  // `auto_create`, an event attributed to a context that does not exist creates none (contexts
  // are owned by another system, `--contexts-auto-create=false`): it is stored and delivered
  // with its context id, and no statistics are kept for it.
  GroupContexts(store::WriteGroup& group, std::chrono::system_clock::time_point now,
                bool auto_create = true, ContextLimits limits = {});

  enum class Verdict { kAccepted, kNotFound, kStoreError };

  // Attributes `draft` (spec §3.4) to its context among its user's contexts, creating the context
  // when it does not exist yet (unless the draft requires an existing one: kNotFound; or the
  // user's ContextLimits forbid it: then it is accepted without a context), and updates the
  // statistics. A CONTEXT_CREATED event for a new context is appended to `out` first;
  // the caller appends the draft itself when accepted. Refusals change nothing.
  Verdict Attribute(const EventDraft& draft, std::vector<EventDraft>& out);

  // Applies a command, appending its system event to `out`: the context afterwards (for kDelete,
  // as it was), or why not: not_found for a context the user does not have, conflict for a
  // kCreate of an id the user has (or past the user's cap), rate_limited past the creation rate,
  // or the store's error (store::IsStoreFailure: the group fails).
  Result<store::ContextRecord> Apply(const ContextCommand& command, std::vector<EventDraft>& out);

  // What the group changed, one write per context.
  std::vector<store::ContextWrite> Writes() const;

 private:
  struct Working {
    std::optional<store::ContextRecord> record;
    bool tasks_dropped = false;  // deleted in this group: the stored task ids no longer count
    bool dirty = false;
    std::vector<std::string> new_tasks;
    std::unordered_set<std::string> group_tasks;

    // Deleted in this group: no record, and the stored task ids no longer count.
    void Drop();
  };
  // Whether `user` may create one more context now (ContextLimits), counting it if so: nullopt,
  // or the refusal (409 past the cap, 429 past the rate); a store error sets `store_error`.
  struct Creation {
    bool store_error = false;
    std::optional<Error> refused;
  };
  Creation MayCreate(const UserId& user);
  // A context of `user` ceased to be in this group.
  void Deleted(const UserId& user) { --created_[user]; }

  // A context created now, with no statistics yet.
  store::ContextRecord NewRecord(const ContextId& id, const UserId& owner, std::string name) const;
  // A system CONTEXT_* event's effect on its context; false on a store error.
  bool Apply(const EventDraft& draft, Working& working);

  Result<Working*> Load(const store::ContextKey& key);
  // Whether `task` was counted for the context before; nullopt on a store error.
  std::optional<bool> TaskSeen(const store::ContextKey& key, Working& working,
                               const std::string& task);

  store::WriteGroup& store_;
  const std::chrono::system_clock::time_point now_;
  const std::int64_t now_ms_;
  const bool auto_create_;
  const ContextLimits limits_;
  // Contexts per user: as committed before the group (read on first need), and how many the
  // group has created less those it deleted.
  std::unordered_map<UserId, std::uint64_t> stored_counts_;
  std::unordered_map<UserId, std::int64_t> created_;
  std::unordered_map<store::ContextKey, Working> touched_;
  std::vector<store::ContextKey> order_;  // touched_ in first-touch order: writes are deterministic
};

}  // namespace herald::hub
