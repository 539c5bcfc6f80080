// A throwaway PostgreSQL 15 server for tests: initdb into a fresh temporary directory, started on
// 127.0.0.1 with a free port, stopped and removed on destruction. Never the system's own cluster.
//
// Thread rule: every method is thread-safe (one mutex serialises start, stop and database
// creation; Query opens its own connection per call).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace herald::testing {

class PgServer {
 public:
  // initdb + start; throws std::runtime_error with the tail of the server log.
  PgServer();
  // Stops the server (-m immediate, bounded; SIGKILL to the postmaster if that fails) and removes
  // the directory; never throws.
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  unsigned short port() const { return port_; }

  // A new, empty database with a unique name; returns its URL
  // "postgresql://postgres@127.0.0.1:<port>/<name>".
  std::string CreateDatabase();

  // Runs SQL on the named database (as the superuser postgres) and returns the first column of
  // every row as text (SQL NULL as ""; empty vector when no rows). Throws std::runtime_error with
  // the server's message on error.
  std::vector<std::string> Query(const std::string& database, const std::string& sql);

  // Terminates every backend connected to `database` except the caller's own
  // (pg_terminate_backend, waiting for each to exit). Returns how many were terminated.
  int TerminateConnections(const std::string& database);

  // pg_ctl stop -m fast, bounded wait; idempotent.
  void Stop();
  // Starts again on the same port and data directory (after Stop); waits until ready.
  void Start();
  bool running() const { return running_; }

  // One server per test process, started on first use and stopped at process exit.
  static PgServer& Shared();

 private:
  // argv for a PostgreSQL tool, through `runuser -u postgres --` when running as root.
  std::vector<std::string> PgCommand(const std::string& tool,
                                     const std::vector<std::string>& args) const;
  // pg_ctl start on port_; true when ready, false when the port was taken; throws otherwise.
  bool TryStart();
  // Stops with -m immediate, then SIGKILL to the postmaster; removes the directory.
  void Destroy() noexcept;
  std::vector<std::string> Exec(const std::string& database, const std::string& sql,
                                const std::vector<std::string>& params);

  std::filesystem::path directory_;  // owned by the postgres user when running as root
  std::filesystem::path data_;
  std::filesystem::path server_log_;
  std::filesystem::path command_log_;  // stdout/stderr of initdb and pg_ctl
  bool as_postgres_ = false;           // run initdb/pg_ctl through runuser -u postgres
  pid_t owner_pid_ = 0;                // a forked child must not stop its parent's server
  pid_t postmaster_pid_ = 0;
  unsigned short port_ = 0;
  std::atomic<bool> running_ = false;
  int next_database_ = 0;
  std::mutex mutex_;
};

// The database name of a URL made by CreateDatabase (the part after the last '/').
std::string DatabaseOf(const std::string& url);

}  // namespace herald::testing
