#include "store/pg_db.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

namespace herald::store::pg {

namespace {

// libpq messages end with a newline and may span lines; logs want one line.
std::string OneLine(const char* message) {
  std::string text = message != nullptr ? message : "";
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text.empty() ? "unknown PostgreSQL error" : text;
}

}  // namespace

bool Rows::ok() const {
  if (!result_) return false;
  const ExecStatusType status = PQresultStatus(result_.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

std::string Rows::error() const {
  if (!result_) return "no result (connection lost)";
  return OneLine(PQresultErrorMessage(result_.get()));
}

std::string_view Rows::Text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t Rows::Int64(int row, int column) const {
  const std::string_view text = Text(row, column);
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::uint64_t Rows::Affected() const {
  const char* text = PQcmdTuples(result_.get());
  std::uint64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

Connection::~Connection() { Close(); }

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    Close();
    conn_ = other.conn_;
    other.conn_ = nullptr;
  }
  return *this;
}

std::optional<std::string> Connection::Open(const std::string& url, std::string_view role) {
  Close();
  const std::string application = "herald-" + std::string(role);
  // expand_dbname: `dbname` may be a whole URI; the other keywords fill what it leaves out.
  const char* const keywords[] = {
      "dbname",          "connect_timeout",     "application_name", "keepalives",
      "keepalives_idle", "keepalives_interval", "keepalives_count", nullptr};
  const char* const values[] = {url.c_str(), "5",    application.c_str(), "1", "10", "5",
                                "3",         nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (conn_ == nullptr) return "out of memory";
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string error = Error();
    Close();
    return error;
  }
  return std::nullopt;
}

void Connection::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

std::string Connection::Error() const {
  return conn_ == nullptr ? "not connected" : OneLine(PQerrorMessage(conn_));
}

Rows Connection::Exec(const char* sql) {
  if (conn_ == nullptr) return {};
  return Rows(ResultPtr(PQexec(conn_, sql)));
}

Rows Connection::Exec(const char* sql, const Params& params) {
  if (conn_ == nullptr) return {};
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  return Rows(ResultPtr(PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr,
                                     values.data(), nullptr, nullptr, 0)));
}

void ArrayBuilder::Add(std::string_view value) {
  text_.push_back(text_.empty() ? '{' : ',');
  text_.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') text_.push_back('\\');
    text_.push_back(c);
  }
  text_.push_back('"');
}

void ArrayBuilder::AddNull() {
  text_.push_back(text_.empty() ? '{' : ',');
  text_ += "NULL";
}

std::string ArrayBuilder::Finish() {
  if (text_.empty()) text_.push_back('{');
  text_.push_back('}');
  return std::exchange(text_, {});
}

std::string Text(std::int64_t value) { return std::to_string(value); }

std::string Text(std::uint64_t value) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return std::to_string(std::min(value, kMax));
}

std::int64_t ToMillis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

}  // namespace herald::store::pg
