// Thin RAII over the SQLite C API: one connection and its prepared statements. Internal to the
// store layer. Connections are opened without SQLite's own mutex: each one is used by one
// thread at a time, which its owner guarantees.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::store::sqlite {

// A prepared statement, cached for the life of its connection.
class Statement {
 public:
  // Resets the statement on scope exit: ends its implicit read transaction (so it neither pins
  // an old snapshot nor holds back checkpoints) and clears its bindings.
  class ResetOnExit {
   public:
    explicit ResetOnExit(Statement& statement) : statement_(statement) {}
    ~ResetOnExit() { statement_.Reset(); }
    ResetOnExit(const ResetOnExit&) = delete;
    ResetOnExit& operator=(const ResetOnExit&) = delete;

   private:
    Statement& statement_;
  };

  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);  // throws std::runtime_error
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based. A bind error is kept and returned by the next Step().
  void BindInt64(int index, std::int64_t value);
  // Bound without a copy: `text` must stay alive until the statement is reset.
  void BindText(int index, std::string_view text);
  void BindNull(int index);

  // SQLITE_ROW, SQLITE_DONE, or an error code (details in the connection's message).
  int Step();
  void Reset();

  // Columns are 0-based.
  std::int64_t ColumnInt64(int column) const;
  bool ColumnIsNull(int column) const;
  // Valid until the next Step() or Reset().
  std::string_view ColumnText(int column) const;

 private:
  sqlite3_stmt* statement_ = nullptr;
  int bind_error_ = SQLITE_OK;
};

class Connection {
 public:
  // Opens `path` with `flags` (plus SQLITE_OPEN_NOMUTEX). Throws std::runtime_error.
  Connection(const std::string& path, int flags);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const { return db_; }

  // Runs SQL without results (several statements allowed). Returns an SQLite code.
  int Exec(const char* sql);
  // Runs SQL or throws std::runtime_error naming `what`.
  void ExecOrThrow(const char* sql, std::string_view what);
  Statement Prepare(std::string_view sql) { return {db_, sql}; }

  // The last error, as "<what>: <sqlite message>".
  std::string Error(std::string_view what) const;
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // How long a statement waits for a lock another connection holds (sqlite3_busy_timeout; 0:
  // not at all). Throws std::runtime_error.
  void SetBusyTimeout(std::chrono::milliseconds timeout);
  // Frees the page cache's unused pages (sqlite3_db_release_memory).
  void ReleaseMemory() { sqlite3_db_release_memory(db_); }

 private:
  sqlite3* db_ = nullptr;
};

// Unix milliseconds of a time point.
std::int64_t ToMillis(std::chrono::system_clock::time_point time);
// A count or limit as SQLite's signed 64-bit integer: a larger value means "no bound" and is
// clamped to its maximum.
std::int64_t ClampToInt64(std::size_t value);

}  // namespace herald::store::sqlite
