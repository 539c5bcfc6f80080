// The SQLite writer's retention passes (store/sqlite_writer.h, spec §4 "Retention"): by count
// per user, by age, and the expired idempotency keys, each bounded by max_rows.

#include "store/sqlite_writer.h"

namespace herald::store::sqlite {

bool Writer::ScanForPruneCandidates(std::size_t limit) {
  Statement::ResetOnExit reset(select_users_over_);
  select_users_over_.BindInt64(1, ClampToInt64(limit));
  int rc = SQLITE_OK;
  while ((rc = select_users_over_.Step()) == SQLITE_ROW) {
    UserId user(std::string(select_users_over_.ColumnText(0)));
    UserState loaded;
    loaded.last_seq = static_cast<std::uint64_t>(select_users_over_.ColumnInt64(1));
    loaded.has_row = true;
    auto* entry = &*users_.try_emplace(std::move(user), loaded).first;
    if (!entry->second.prune_candidate) {
      entry->second.prune_candidate = true;
      prune_candidates_.push_back(entry);
    }
  }
  return rc == SQLITE_DONE;
}

bool Writer::PruneByCount(std::size_t limit, std::size_t max_rows, std::size_t& deleted) {
  while (deleted < max_rows && !prune_candidates_.empty()) {
    UserMap::value_type* entry = prune_candidates_.back();
    const std::uint64_t last_seq = entry->second.last_seq;
    std::uint64_t first_seq = 0;
    if (last_seq > limit) {
      Statement::ResetOnExit reset(first_seq_);
      first_seq_.BindText(1, entry->first.str());
      if (first_seq_.Step() != SQLITE_ROW) return false;
      if (!first_seq_.ColumnIsNull(0)) {
        first_seq = static_cast<std::uint64_t>(first_seq_.ColumnInt64(0));
      }
    }
    const std::uint64_t cut = last_seq > limit ? last_seq - limit : 0;  // delete seq <= cut
    if (first_seq == 0 || first_seq > cut) {
      entry->second.prune_candidate = false;
      prune_candidates_.pop_back();
      continue;
    }
    // Sequences are unique, so [first_seq, through] holds at most max_rows - deleted events;
    // at least first_seq itself goes, so every round makes progress.
    const std::uint64_t budget = max_rows - deleted;
    const std::uint64_t through = cut - first_seq < budget ? cut : first_seq + budget - 1;
    if (through >= last_seq && !RaiseFloor(entry->first, last_seq)) return false;
    Statement::ResetOnExit reset(delete_range_);
    delete_range_.BindText(1, entry->first.str());
    delete_range_.BindInt64(2, static_cast<std::int64_t>(first_seq));
    delete_range_.BindInt64(3, static_cast<std::int64_t>(through));
    if (delete_range_.Step() != SQLITE_DONE) return false;
    deleted += static_cast<std::size_t>(sqlite3_changes64(db_.get()));
  }
  return true;
}

bool Writer::PruneByAge(std::int64_t cutoff_ms, std::size_t max_rows, std::size_t& deleted) {
  if (deleted >= max_rows) return true;
  {
    Statement::ResetOnExit reset(floor_aged_);
    floor_aged_.BindInt64(1, cutoff_ms);
    floor_aged_.BindInt64(2, ClampToInt64(max_rows - deleted));
    if (floor_aged_.Step() != SQLITE_DONE) return false;
  }
  Statement::ResetOnExit reset(delete_aged_);
  delete_aged_.BindInt64(1, cutoff_ms);
  delete_aged_.BindInt64(2, ClampToInt64(max_rows - deleted));
  if (delete_aged_.Step() != SQLITE_DONE) return false;
  deleted += static_cast<std::size_t>(sqlite3_changes64(db_.get()));
  return true;
}

Result<std::size_t> Writer::Prune(const RetentionPolicy& policy,
                                  std::chrono::system_clock::time_point now, std::size_t max_rows) {
  using Out = Result<std::size_t>;
  if (max_rows == 0) return Out(0);
  if (!Begin()) return StoreFailure(Abort("prune: begin"));
  const std::size_t limit = policy.max_events_per_user;
  if (scanned_limit_ != limit) {
    if (!ScanForPruneCandidates(limit)) return StoreFailure(Abort("prune: scan users"));
    scanned_limit_ = limit;
  }
  std::size_t deleted = 0;
  if (!PruneByCount(limit, max_rows, deleted)) {
    scanned_limit_.reset();  // the rollback may bring back rows whose candidates were dropped
    return StoreFailure(Abort("prune: by count"));
  }
  if (!PruneByAge(ToMillis(now - policy.max_age), max_rows, deleted)) {
    scanned_limit_.reset();
    return StoreFailure(Abort("prune: by age"));
  }
  {
    Statement::ResetOnExit reset(delete_expired_keys_);
    delete_expired_keys_.BindInt64(1, ToMillis(now));
    delete_expired_keys_.BindInt64(2, ClampToInt64(max_rows));
    if (delete_expired_keys_.Step() != SQLITE_DONE) {
      scanned_limit_.reset();
      return StoreFailure(Abort("prune: idempotency keys"));
    }
  }
  if (!Commit()) {
    scanned_limit_.reset();
    return StoreFailure(Abort("prune: commit"));
  }
  return Out(deleted);
}

}  // namespace herald::store::sqlite
