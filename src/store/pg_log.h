// The PostgreSQL store's LogListener (store/event_store.h): one connection per node that
// LISTENs on `herald_log` and reads committed events by log position.
#pragma once

#include <string>

#include "store/event_store.h"
#include "store/pg_db.h"

namespace herald::store::pg {

class Log final : public LogListener {
 public:
  Log(std::string url, std::uint32_t history);
  ~Log() override;
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  Result<std::uint64_t> Connect(bool listen) override;
  Result<std::vector<StoredEvent>> ReadAfter(std::uint64_t after, std::size_t limit) override;
  Result<std::uint64_t> Wait(std::chrono::milliseconds timeout) override;
  void Wake() override;

 private:
  // Takes every queued notification; returns the highest head announced (0 when none).
  std::uint64_t DrainNotifications();

  const std::string url_;
  const std::uint32_t history_;
  Connection db_;
  int wake_fd_ = -1;  // eventfd: Wake() makes Wait() return
};

}  // namespace herald::store::pg
