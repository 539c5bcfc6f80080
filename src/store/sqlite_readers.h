// The read side of the SQLite store: a pool of read-only connections. WAL lets every reader see
// the last committed snapshot without waiting for the writer or for each other; the pool's lock
// is held only to take or return a connection. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/event_store.h"

namespace herald::store::sqlite {

class Readers {
 public:
  // Opens one connection at once so that a file readers cannot open fails at start-up (throws
  // std::runtime_error). At most `max_idle` connections are kept between calls; more are opened
  // while more threads read at the same time.
  Readers(std::string path, std::chrono::milliseconds busy_timeout, std::size_t max_idle,
          std::uint32_t history);
  ~Readers();
  Readers(const Readers&) = delete;
  Readers& operator=(const Readers&) = delete;

  Result<ReplayPage> ReadAfter(const UserId& user, std::uint64_t after_sequence,
                               const ReplayFilter& filter, std::size_t limit);
  Result<UserRange> Range(const UserId& user);
  Result<ContextsView> ReadContexts(const UserId& user, const ContextQuery& selection);
  // Closes the connections not in use but one and frees that one's page cache; the pool grows
  // again as reads overlap.
  void ReleaseMemory();

 private:
  struct Reader;
  class Lease;

  static Result<UserRange> ReadRange(Reader& reader, const UserId& user);
  std::unique_ptr<Reader> Open() const;  // throws std::runtime_error
  std::unique_ptr<Reader> Take();        // throws std::runtime_error
  void Return(std::unique_ptr<Reader> reader);

  const std::string path_;
  const std::chrono::milliseconds busy_timeout_;
  const std::size_t max_idle_;
  const std::uint32_t history_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Reader>> idle_;
};

}  // namespace herald::store::sqlite
