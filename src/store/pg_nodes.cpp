#include "store/pg_nodes.h"

#include <fmt/format.h>

namespace herald::store::pg {

namespace {

std::string StreamCode(Stream stream) { return std::to_string(static_cast<int>(stream)); }

}  // namespace

Nodes::Nodes(std::string url, std::string node) : url_(std::move(url)), node_(std::move(node)) {}

Connection* Nodes::Db(std::string& error) {
  if (db_.ok()) return &db_;
  if (auto failed = db_.Open(url_, "nodes")) {
    error = *failed;
    return nullptr;
  }
  return &db_;
}

Result<bool> Nodes::Admit(const UserId& user, Stream stream, std::size_t cap) {
  std::lock_guard lock(mutex_);
  std::string error;
  Connection* db = Db(error);
  if (db == nullptr) return StoreFailure("admit: connect: " + error);
  const auto fail = [db](const char* what, const Rows& rows) {
    std::string message = fmt::format("admit: {}: {}", what, rows.error());
    db->Exec("ROLLBACK");
    return StoreFailure(std::move(message));
  };
  Rows begin = db->Exec("BEGIN");
  if (!begin.ok()) return fail("begin", begin);
  // Every statement after the lock reads what the previous holder committed (READ COMMITTED
  // takes a snapshot per statement).
  Rows locked = db->Exec("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))",
                         {user.str(), StreamCode(stream)});
  if (!locked.ok()) return fail("lock", locked);
  Rows total = db->Exec(
      "SELECT COALESCE(sum(c.count), 0) FROM herald_connections c JOIN herald_nodes n "
      "ON n.node_id = c.node_id WHERE c.user_id = $1 AND c.stream = $2 AND n.expires_at > now()",
      {user.str(), StreamCode(stream)});
  if (!total.ok()) return fail("count", total);
  if (static_cast<std::uint64_t>(total.Int64(0, 0)) >= cap) {
    db->Exec("ROLLBACK");
    return Result<bool>(false);
  }
  Rows counted = db->Exec(
      "INSERT INTO herald_connections (node_id, user_id, stream, count) VALUES ($3, $1, $2, 1) "
      "ON CONFLICT (user_id, stream, node_id) DO UPDATE SET count = herald_connections.count + 1",
      {user.str(), StreamCode(stream), node_});
  if (!counted.ok()) return fail("count up", counted);
  Rows commit = db->Exec("COMMIT");
  if (!commit.ok() || commit.CommandTag() != "COMMIT") return fail("commit", commit);
  return Result<bool>(true);
}

Result<bool> Nodes::Release(const UserId& user, Stream stream) {
  std::lock_guard lock(mutex_);
  std::string error;
  Connection* db = Db(error);
  if (db == nullptr) return StoreFailure("release: connect: " + error);
  Rows rows = db->Exec(
      "UPDATE herald_connections SET count = count - 1 "
      "WHERE user_id = $1 AND stream = $2 AND node_id = $3 AND count > 0",
      {user.str(), StreamCode(stream), node_});
  if (!rows.ok()) return StoreFailure("release: " + rows.error());
  return Result<bool>(true);
}

namespace {

// This node's rows of herald_connections: one per (user, stream) it holds streams of.
Rows WriteCounts(Connection& db, const std::string& node, const NodeRegistry::Counts& counts) {
  ArrayBuilder users;
  ArrayBuilder streams;
  ArrayBuilder numbers;
  for (const auto& [user, stream, count] : counts) {
    users.Add(user.str());
    streams.Add(StreamCode(stream));
    numbers.Add(std::to_string(count));
  }
  return db.Exec(
      "INSERT INTO herald_connections (node_id, user_id, stream, count) "
      "SELECT $1, u, s, n FROM unnest($2::text[], $3::smallint[], $4::integer[]) AS x(u, s, n)",
      {node, users.Finish(), streams.Finish(), numbers.Finish()});
}

}  // namespace

Result<std::vector<NodeRegistry::NodeCount>> Nodes::Heartbeat(std::chrono::seconds lease,
                                                              const Counts& counts, bool rewrite) {
  using Out = Result<std::vector<NodeCount>>;
  std::lock_guard lock(mutex_);
  std::string error;
  Connection* db = Db(error);
  if (db == nullptr) return StoreFailure("heartbeat: connect: " + error);
  const auto fail = [db](const char* what, const Rows& rows) {
    std::string message = fmt::format("heartbeat: {}: {}", what, rows.error());
    db->Exec("ROLLBACK");
    return StoreFailure(std::move(message));
  };
  Rows begin = db->Exec("BEGIN");
  if (!begin.ok()) return fail("begin", begin);
  // Was this node alive until now? If not (first beat, or a lapse), its rows are written anew.
  Rows renewed = db->Exec(
      "UPDATE herald_nodes SET expires_at = now() + make_interval(secs => $2) "
      "WHERE node_id = $1 AND expires_at > now()",
      {node_, std::to_string(lease.count())});
  if (!renewed.ok()) return fail("renew", renewed);
  if (renewed.Affected() == 0 || rewrite) {
    Rows joined = db->Exec(
        "INSERT INTO herald_nodes (node_id, expires_at) VALUES ($1, now() + "
        "make_interval(secs => $2)) ON CONFLICT (node_id) DO UPDATE SET expires_at = "
        "excluded.expires_at",
        {node_, std::to_string(lease.count())});
    if (!joined.ok()) return fail("join", joined);
    Rows cleared = db->Exec("DELETE FROM herald_connections WHERE node_id = $1", {node_});
    if (!cleared.ok()) return fail("clear", cleared);
    Rows written = WriteCounts(*db, node_, counts);
    if (!written.ok()) return fail("write counts", written);
  }
  // Dead nodes' counts no longer count; rows at zero are dropped.
  Rows swept = db->Exec(
      "DELETE FROM herald_connections c WHERE c.count <= 0 OR NOT EXISTS (SELECT 1 FROM "
      "herald_nodes n WHERE n.node_id = c.node_id AND n.expires_at > now())");
  if (!swept.ok()) return fail("sweep", swept);
  Rows forgotten = db->Exec("DELETE FROM herald_nodes WHERE expires_at < now() - interval '1 day'");
  if (!forgotten.ok()) return fail("forget", forgotten);
  Rows live = db->Exec(
      "SELECT n.node_id, COALESCE(sum(c.count), 0) FROM herald_nodes n LEFT JOIN "
      "herald_connections c ON c.node_id = n.node_id WHERE n.expires_at > now() "
      "GROUP BY n.node_id ORDER BY n.node_id");
  if (!live.ok()) return fail("read", live);
  Rows commit = db->Exec("COMMIT");
  if (!commit.ok() || commit.CommandTag() != "COMMIT") return fail("commit", commit);
  std::vector<NodeCount> nodes;
  nodes.reserve(static_cast<std::size_t>(live.size()));
  for (int row = 0; row < live.size(); ++row) {
    nodes.push_back(
        {std::string(live.Text(row, 0)), static_cast<std::uint64_t>(live.Int64(row, 1))});
  }
  return Out(std::move(nodes));
}

void Nodes::Leave() {
  std::lock_guard lock(mutex_);
  std::string error;
  Connection* db = Db(error);
  if (db == nullptr) return;  // the lease runs out by itself
  db->Exec("DELETE FROM herald_connections WHERE node_id = $1", {node_});
  db->Exec("DELETE FROM herald_nodes WHERE node_id = $1", {node_});
}

}  // namespace herald::store::pg
