#include "store/pg_group.h"

#include <fmt/format.h>

#include <unordered_map>
#include <utility>

#include "store/columns.h"
#include "store/history.h"
#include "store/pg_schema.h"

namespace herald::store::pg {

namespace {

constexpr const char* kCountContextsSql = "SELECT count(*) FROM herald_contexts WHERE user_id = $1";

std::optional<std::string> TextOrNull(const std::optional<std::int64_t>& value) {
  if (!value) return std::nullopt;
  return Text(*value);
}

// One write group: a transaction holding the log head's row lock from its first statement to
// its end (store/pg_group.h).
class Group final : public WriteGroup {
 public:
  Group(pg::Connection& db, std::uint32_t history, std::uint64_t head, std::atomic<bool>& open)
      : db_(db), history_(history), head_(head), open_flag_(open) {}
  ~Group() override {
    if (open_) db_.Exec("ROLLBACK");
    open_flag_.store(false, std::memory_order_release);
  }
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  Result<std::optional<ContextRecord>> FindContext(const ContextKey& key) override {
    using Out = Result<std::optional<ContextRecord>>;
    static const std::string sql = fmt::format(
        "SELECT {} FROM herald_contexts WHERE user_id = $1 AND context_id = $2", kContextColumns);
    Rows rows = db_.Exec(sql.c_str(), {key.user.str(), key.id.str()});
    if (!rows.ok()) return StoreFailure("contexts: find: " + rows.error());
    if (rows.size() == 0) return Out(std::nullopt);
    return Out(pg::ContextFromRow(rows, 0));
  }

  Result<bool> TaskSeen(const ContextKey& context, const std::string& task) override {
    Rows rows = db_.Exec(
        "SELECT 1 FROM herald_context_tasks WHERE user_id = $1 AND context_id = $2 AND "
        "task_id = $3",
        {context.user.str(), context.id.str(), task});
    if (!rows.ok()) return StoreFailure("contexts: task: " + rows.error());
    return Result<bool>(rows.size() > 0);
  }

  Result<std::uint64_t> CountContexts(const UserId& user) override {
    using Out = Result<std::uint64_t>;
    Rows rows = db_.Exec(kCountContextsSql, {user.str()});
    if (!rows.ok()) return StoreFailure("contexts: count: " + rows.error());
    return Out(std::stoull(std::string(rows.Text(0, 0))));
  }

  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(
      const std::string& key, std::chrono::system_clock::time_point now) override {
    using Out = Result<std::optional<IdempotencyRecord>>;
    Rows rows = db_.Exec(
        "SELECT fingerprint, sequences FROM herald_idempotency_keys "
        "WHERE key = $1 AND expires_at_ms > $2",
        {key, Text(pg::ToMillis(now))});
    if (!rows.ok()) return StoreFailure("idempotency: find: " + rows.error());
    if (rows.size() == 0) return Out(std::nullopt);
    IdempotencyRecord record;
    record.fingerprint = std::string(rows.Text(0, 0));
    record.event_ids = ParseClaimSequences(rows.Text(0, 1), history_);
    return Out(std::move(record));
  }

  Result<std::vector<StoredEvent>> Commit(std::span<const EventDraft> drafts,
                                          std::span<const IdempotencyClaim> claims,
                                          std::span<const ContextWrite> contexts,
                                          std::chrono::system_clock::time_point now) override {
    using Out = Result<std::vector<StoredEvent>>;
    const std::int64_t stored_at_ms = pg::ToMillis(now);
    std::vector<std::uint64_t> sequences;
    if (auto error = Number(drafts, sequences)) return Fail(*error);
    if (auto error = InsertEvents(drafts, sequences, stored_at_ms)) return Fail(*error);
    for (const IdempotencyClaim& claim : claims) {
      if (auto error = InsertClaim(claim, sequences)) return Fail(*error);
    }
    for (const ContextWrite& write : contexts) {
      if (auto error = WriteContext(write)) return Fail(*error);
    }
    if (!drafts.empty()) {
      // The new head, announced to every node's relay when (and only if) this commits.
      Rows head = db_.Exec(
          "WITH h AS (UPDATE herald_log_head SET position = $1 WHERE id = 1 RETURNING position) "
          "SELECT pg_notify('herald_log', position::text) FROM h",
          {Text(head_ + drafts.size())});
      if (!head.ok()) return Fail("append: log head: " + head.error());
    }
    Rows commit = db_.Exec("COMMIT");
    open_ = false;
    if (!commit.ok() || commit.CommandTag() != "COMMIT") {
      return StoreFailure("append: commit: " + (commit.ok() ? "rolled back" : commit.error()));
    }
    std::vector<StoredEvent> stored;
    stored.reserve(drafts.size());
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      const EventDraft& draft = drafts[i];
      stored.push_back(StoredEvent{draft.user, EventId{history_, sequences[i]}, draft.protocol,
                                   draft.context, draft.type, draft.json, stored_at_ms,
                                   head_ + 1 + i});
    }
    return Out(std::move(stored));
  }

  void Opened() { open_ = true; }

 private:
  Result<std::vector<StoredEvent>> Fail(const std::string& error) {
    db_.Exec("ROLLBACK");
    open_ = false;
    return StoreFailure(error);
  }

  // Draws each draft's sequence: every user's counter moves by the user's count in one
  // statement, and the drafts take the numbers in input order.
  std::optional<std::string> Number(std::span<const EventDraft> drafts,
                                    std::vector<std::uint64_t>& sequences) {
    sequences.assign(drafts.size(), 0);
    if (drafts.empty()) return std::nullopt;
    std::unordered_map<UserId, std::size_t> slot_of_user;
    std::vector<std::uint64_t> counts;
    std::vector<std::size_t> slot_of_draft(drafts.size());
    pg::ArrayBuilder users;
    pg::ArrayBuilder increments;
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      const auto [it, added] = slot_of_user.try_emplace(drafts[i].user, counts.size());
      if (added) {
        counts.push_back(0);
        users.Add(drafts[i].user.str());
      }
      slot_of_draft[i] = it->second;
      ++counts[it->second];
    }
    for (std::uint64_t count : counts) increments.Add(Text(count));
    Rows rows = db_.Exec(
        "INSERT INTO herald_users (user_id, last_seq) "
        "SELECT * FROM unnest($1::text[], $2::bigint[]) "
        "ON CONFLICT (user_id) DO UPDATE SET last_seq = herald_users.last_seq + excluded.last_seq "
        "RETURNING user_id, last_seq",
        {users.Finish(), increments.Finish()});
    if (!rows.ok()) return "append: users: " + rows.error();
    std::vector<std::uint64_t> next(counts.size(), 0);
    for (int row = 0; row < rows.size(); ++row) {
      const auto found = slot_of_user.find(UserId(std::string(rows.Text(row, 0))));
      if (found == slot_of_user.end()) return "append: users: unexpected row";
      const auto last = static_cast<std::uint64_t>(rows.Int64(row, 1));
      next[found->second] = last - counts[found->second] + 1;
    }
    for (std::size_t i = 0; i < drafts.size(); ++i) sequences[i] = next[slot_of_draft[i]]++;
    return std::nullopt;
  }

  std::optional<std::string> InsertEvents(std::span<const EventDraft> drafts,
                                          const std::vector<std::uint64_t>& sequences,
                                          std::int64_t stored_at_ms) {
    if (drafts.empty()) return std::nullopt;
    pg::ArrayBuilder positions;
    pg::ArrayBuilder users;
    pg::ArrayBuilder seqs;
    pg::ArrayBuilder protocols;
    pg::ArrayBuilder types;
    pg::ArrayBuilder context_ids;
    pg::ArrayBuilder payloads;
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      const EventDraft& d = drafts[i];
      positions.Add(Text(head_ + 1 + i));
      users.Add(d.user.str());
      seqs.Add(Text(sequences[i]));
      protocols.Add(Text(ProtocolCode(d.protocol)));
      types.Add(d.type);
      if (d.context) {
        context_ids.Add(d.context->str());
      } else {
        context_ids.AddNull();
      }
      payloads.Add(d.json);
    }
    Rows rows = db_.Exec(
        "INSERT INTO herald_events "
        "(position, user_id, seq, protocol, type, context_id, stored_at_ms, payload) "
        "SELECT p, u, s, r, t, c, $7, j FROM unnest($1::bigint[], $2::text[], $3::bigint[], "
        "$4::smallint[], $5::text[], $6::text[], $8::text[]) AS x(p, u, s, r, t, c, j)",
        {positions.Finish(), users.Finish(), seqs.Finish(), protocols.Finish(), types.Finish(),
         context_ids.Finish(), Text(stored_at_ms), payloads.Finish()});
    if (!rows.ok()) return "append: events: " + rows.error();
    return std::nullopt;
  }

  std::optional<std::string> InsertClaim(const IdempotencyClaim& claim,
                                         const std::vector<std::uint64_t>& sequences) {
    const std::string text =
        FormatClaimSequences(claim, [&](std::size_t draft) { return sequences[draft]; });
    Rows rows = db_.Exec(
        "INSERT INTO herald_idempotency_keys (key, fingerprint, sequences, expires_at_ms) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET fingerprint = "
        "excluded.fingerprint, sequences = excluded.sequences, expires_at_ms = "
        "excluded.expires_at_ms",
        {claim.key, claim.fingerprint, text, Text(pg::ToMillis(claim.expires_at))});
    if (!rows.ok()) return "append: idempotency key: " + rows.error();
    return std::nullopt;
  }

  std::optional<std::string> WriteContext(const ContextWrite& write) {
    const std::string user = write.key.user.str();
    const std::string id = write.key.id.str();
    if (!write.record || write.reset_tasks) {
      Rows rows = db_.Exec(
          "DELETE FROM herald_context_tasks WHERE user_id = $1 AND context_id = $2", {user, id});
      if (!rows.ok()) return "append: context tasks: " + rows.error();
    }
    if (!write.record) {
      Rows rows = db_.Exec("DELETE FROM herald_contexts WHERE user_id = $1 AND context_id = $2",
                           {user, id});
      if (!rows.ok()) return "append: context: " + rows.error();
      return std::nullopt;
    }
    const ContextRecord& r = *write.record;
    Rows upsert = db_.Exec(
        "INSERT INTO herald_contexts (context_id, user_id, name, kind, created_at_ms, "
        "updated_at_ms, task_count, message_count, last_message_at_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (user_id, context_id) DO "
        "UPDATE SET name = excluded.name, kind = excluded.kind, "
        "created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, "
        "task_count = excluded.task_count, message_count = excluded.message_count, "
        "last_message_at_ms = excluded.last_message_at_ms",
        {id, r.owner.str(), r.name, r.kind, Text(r.created_at_ms), Text(r.updated_at_ms),
         Text(r.task_count), Text(r.message_count), TextOrNull(r.last_message_at_ms)});
    if (!upsert.ok()) return "append: context: " + upsert.error();
    if (write.new_tasks.empty()) return std::nullopt;
    pg::ArrayBuilder tasks;
    for (const std::string& task : write.new_tasks) tasks.Add(task);
    Rows rows = db_.Exec(
        "INSERT INTO herald_context_tasks (user_id, context_id, task_id) "
        "SELECT $1, $2, t FROM unnest($3::text[]) AS t ON CONFLICT DO NOTHING",
        {user, id, tasks.Finish()});
    if (!rows.ok()) return "append: context tasks: " + rows.error();
    return std::nullopt;
  }

  pg::Connection& db_;
  const std::uint32_t history_;
  const std::uint64_t head_;  // the log position before this group's first event
  std::atomic<bool>& open_flag_;
  bool open_ = false;
};

}  // namespace

std::unique_ptr<WriteGroup> OpenGroup(Connection& db, std::uint32_t history, std::uint64_t head,
                                      std::atomic<bool>& open_flag) {
  auto group = std::make_unique<Group>(db, history, head, open_flag);
  group->Opened();
  return group;
}

}  // namespace herald::store::pg
