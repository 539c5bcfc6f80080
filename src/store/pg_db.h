// A thin RAII layer over libpq for the PostgreSQL store: connections, results, parameterised
// statements in text format, and PostgreSQL array literals. Private to the store layer.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::store::pg {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// A statement's outcome: rows (text format) or the server's error.
class Rows {
 public:
  Rows() = default;
  explicit Rows(ResultPtr result) : result_(std::move(result)) {}

  bool ok() const;
  // The error of a failed statement, one line.
  std::string error() const;
  int size() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string_view Text(int row, int column) const;
  std::int64_t Int64(int row, int column) const;
  // The command tag ("COMMIT", "ROLLBACK", "INSERT 0 3", …).
  std::string_view CommandTag() const { return result_ ? PQcmdStatus(result_.get()) : ""; }
  // The number of rows a DELETE/UPDATE touched.
  std::uint64_t Affected() const;

 private:
  ResultPtr result_;
};

// Text parameters of a statement: nullopt is SQL NULL.
using Params = std::vector<std::optional<std::string>>;

class Connection {
 public:
  Connection() = default;
  ~Connection();
  Connection(Connection&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects to `url` (a postgresql:// URI or a libpq conninfo string) with a bounded connect
  // time and TCP keep-alives, so that a vanished server is noticed; `role` names it in
  // pg_stat_activity (application_name "herald-<role>"). Returns the error, if any.
  std::optional<std::string> Open(const std::string& url, std::string_view role);
  bool ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }
  void Close();
  PGconn* get() const { return conn_; }
  // libpq's last error on this connection, one line.
  std::string Error() const;

  // Runs one or more statements without parameters; the result of the last one.
  Rows Exec(const char* sql);
  // Runs one parameterised statement.
  Rows Exec(const char* sql, const Params& params);

 private:
  PGconn* conn_ = nullptr;
};

// A PostgreSQL array literal ("{…}") for one array parameter: every element quoted and escaped,
// so any text goes through.
class ArrayBuilder {
 public:
  void Add(std::string_view value);
  void AddNull();
  // The literal; the builder is empty afterwards.
  std::string Finish();

 private:
  std::string text_;
};

// A bigint parameter's text. PostgreSQL's bigint is signed: an unsigned value above its range
// (a count or limit meaning "no bound") is clamped to its maximum.
std::string Text(std::int64_t value);
std::string Text(std::uint64_t value);

// Unix milliseconds of a time point.
std::int64_t ToMillis(std::chrono::system_clock::time_point time);

}  // namespace herald::store::pg
