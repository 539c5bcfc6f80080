// The PostgreSQL store's NodeRegistry (store/event_store.h): herald_nodes holds each node's
// lease (expires_at, on the database's clock so that nodes' clocks need not agree) and
// herald_connections each node's streams per user and stream. An admission takes a
// transaction-scoped advisory lock on (user, stream), sums the live nodes' counts and adds one,
// so two nodes admitting the same user at once cannot both pass the cap.
#pragma once

#include <mutex>
#include <string>

#include "store/event_store.h"
#include "store/pg_db.h"

namespace herald::store::pg {

class Nodes final : public NodeRegistry {
 public:
  // `node`: this process's id, unique in the cluster.
  Nodes(std::string url, std::string node);
  ~Nodes() override = default;

  Result<bool> Admit(const UserId& user, Stream stream, std::size_t cap) override;
  Result<bool> Release(const UserId& user, Stream stream) override;
  Result<std::vector<NodeCount>> Heartbeat(std::chrono::seconds lease, const Counts& counts,
                                           bool rewrite) override;
  void Leave() override;
  const std::string& node() const override { return node_; }

 private:
  // The connection, (re)opened when needed; nullptr with `error` when it cannot be. Under mutex_.
  Connection* Db(std::string& error);

  const std::string url_;
  const std::string node_;
  std::mutex mutex_;
  Connection db_;
};

}  // namespace herald::store::pg
