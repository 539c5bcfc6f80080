#include "store/pg_log.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <charconv>
#include <stdexcept>

#include "store/pg_schema.h"

namespace herald::store::pg {

Log::Log(std::string url, std::uint32_t history)
    : url_(std::move(url)), history_(history), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
}

Log::~Log() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Result<std::uint64_t> Log::Connect(bool listen) {
  using Out = Result<std::uint64_t>;
  if (auto error = db_.Open(url_, "relay")) return StoreFailure("relay: connect: " + *error);
  // Listen first, then read the head: a commit after the read is always announced.
  if (listen) {
    Rows listening = db_.Exec("LISTEN herald_log");
    if (!listening.ok()) return StoreFailure("relay: listen: " + listening.error());
  }
  Rows head = db_.Exec("SELECT position FROM herald_log_head WHERE id = 1");
  if (!head.ok() || head.size() != 1) {
    return StoreFailure("relay: head: " + (head.ok() ? std::string("no row") : head.error()));
  }
  return Out(static_cast<std::uint64_t>(head.Int64(0, 0)));
}

Result<std::vector<StoredEvent>> Log::ReadAfter(std::uint64_t after, std::size_t limit) {
  using Out = Result<std::vector<StoredEvent>>;
  static const std::string sql = fmt::format(
      "SELECT {} FROM herald_events WHERE position > $1 ORDER BY position LIMIT $2", kEventColumns);
  Rows rows = db_.Exec(sql.c_str(), {std::to_string(after), std::to_string(limit)});
  if (!rows.ok()) return StoreFailure("relay: read: " + rows.error());
  std::vector<StoredEvent> events;
  events.reserve(static_cast<std::size_t>(rows.size()));
  for (int row = 0; row < rows.size(); ++row) {
    auto event = EventFromRow(rows, row, history_);
    if (!event) return StoreFailure("relay: unknown protocol code");
    events.push_back(std::move(*event));
  }
  return Out(std::move(events));
}

std::uint64_t Log::DrainNotifications() {
  std::uint64_t head = 0;
  while (PGnotify* notify = PQnotifies(db_.get())) {
    const std::string_view payload = notify->extra != nullptr ? notify->extra : "";
    std::uint64_t position = 0;
    std::from_chars(payload.data(), payload.data() + payload.size(), position);
    head = std::max(head, position);
    PQfreemem(notify);
  }
  return head;
}

Result<std::uint64_t> Log::Wait(std::chrono::milliseconds timeout) {
  using Out = Result<std::uint64_t>;
  if (!db_.ok()) return StoreFailure("relay: not connected");
  // Notifications that arrived with an earlier query's results are already queued.
  if (const std::uint64_t head = DrainNotifications(); head > 0) return Out(head);
  pollfd fds[2] = {{PQsocket(db_.get()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  const int ready = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (ready < 0) return Out(0);  // EINTR: the caller loops
  if (fds[1].revents & POLLIN) {
    std::uint64_t ignored = 0;
    [[maybe_unused]] const auto n = ::read(wake_fd_, &ignored, sizeof ignored);
  }
  if (fds[0].revents != 0) {
    if (PQconsumeInput(db_.get()) == 0 || PQstatus(db_.get()) != CONNECTION_OK) {
      std::string error = db_.Error();
      db_.Close();
      return StoreFailure("relay: connection lost: " + error);
    }
  }
  return Out(DrainNotifications());
}

void Log::Wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace herald::store::pg
