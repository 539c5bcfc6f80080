#include "support/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>

extern char** environ;

namespace herald::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

const fs::path kBinDirectory = "/usr/lib/postgresql/15/bin";
constexpr int kPgCtlWaitSeconds = 30;         // pg_ctl -t for start and fast stop
constexpr int kImmediateStopSeconds = 10;     // pg_ctl -t when destroying
constexpr auto kCommandMargin = seconds(15);  // beyond pg_ctl's own -t
constexpr auto kInitdbTimeout = seconds(120);
constexpr auto kNoPidfdPollInterval = milliseconds(10);  // only when pidfd_open is missing
constexpr int kStartAttempts = 5;
constexpr std::size_t kLogTailBytes = 3000;
constexpr std::string_view kPathSafeCharacters =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-";

std::string SystemError(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

// The bytes of `path` from `offset` on (at most the last kLogTailBytes); "" when unreadable.
std::string Tail(const fs::path& path, std::uintmax_t offset = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.erase(0, std::min<std::uintmax_t>(offset, text.size()));
  if (text.size() > kLogTailBytes) text.erase(0, text.size() - kLogTailBytes);
  return text;
}

std::uintmax_t SizeOf(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  return error ? 0 : size;
}

// Exit code of the command, or nullopt when it was killed by a signal or ran past `timeout`
// (then its process group is killed). stdin is /dev/null; stdout and stderr append to `output`.
std::optional<int> Run(const std::vector<std::string>& argv, const fs::path& working_directory,
                       const fs::path& output, steady_clock::duration timeout) {
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, working_directory.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attributes, &signals);
  sigaddset(&signals, SIGPIPE);
  sigaddset(&signals, SIGCHLD);
  posix_spawnattr_setsigdefault(&attributes, &signals);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group, so a timeout kills all of it
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw std::runtime_error(fmt::format("cannot run {}: {}", argv[0], std::strerror(spawned)));
  }

  // A pidfd turns "wait at most N for the child" into one poll(); without one (old kernels),
  // poll waitpid on a short interval, still bounded by the deadline.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  const auto deadline = steady_clock::now() + timeout;
  std::optional<int> result;
  for (;;) {
    int status = 0;
    const pid_t waited = ::waitpid(pid, &status, WNOHANG);
    if (waited == pid) {
      if (WIFEXITED(status)) result = WEXITSTATUS(status);
      break;
    }
    if (waited < 0 && errno != EINTR) break;  // reaped elsewhere: outcome unknown
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    if (pidfd >= 0) {
      pollfd ready{pidfd, POLLIN, 0};
      ::poll(&ready, 1, static_cast<int>(left.count()));
    } else {
      std::this_thread::sleep_for(std::min<milliseconds>(left, kNoPidfdPollInterval));
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return result;
}

unsigned short FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(SystemError("socket()"));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const std::string error = ok ? "" : SystemError("binding 127.0.0.1:0");
  ::close(fd);
  if (!ok) throw std::runtime_error(error);
  return ntohs(address.sin_port);
}

fs::path MakeDirectory() {
  const fs::path parent = fs::temp_directory_path();
  // The path travels inside pg_ctl's -o string, which pg_ctl hands to a shell.
  if (parent.string().find_first_not_of(kPathSafeCharacters) != std::string::npos) {
    throw std::runtime_error(
        fmt::format("temporary directory {} has characters pg_ctl -o cannot carry; set TMPDIR",
                    parent.string()));
  }
  std::random_device random;
  for (int attempt = 0; attempt < 10; ++attempt) {
    const std::uint64_t suffix = (std::uint64_t{random()} << 32) | random();
    fs::path path = parent / fmt::format("herald-pg-{}-{:016x}", ::getpid(), suffix);
    if (::mkdir(path.c_str(), 0700) == 0) return path;
    if (errno != EEXIST) throw std::runtime_error(SystemError("mkdir " + path.string()));
  }
  throw std::runtime_error("cannot create a unique directory under " + parent.string());
}

void ChownToPostgres(const fs::path& path) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r("postgres", &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
    throw std::runtime_error(
        "running as root but there is no 'postgres' system user (apt-get install postgresql-15)");
  }
  if (::chown(path.c_str(), entry.pw_uid, entry.pw_gid) != 0) {
    throw std::runtime_error(SystemError("chown postgres " + path.string()));
  }
}

fs::path Runuser() {
  for (const char* candidate : {"/usr/sbin/runuser", "/sbin/runuser"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  throw std::runtime_error("running as root but runuser (util-linux) is missing");
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

pid_t ReadPostmasterPid(const fs::path& data) {
  std::ifstream in(data / "postmaster.pid");
  long pid = 0;
  in >> pid;
  return pid > 0 ? static_cast<pid_t>(pid) : 0;
}

// True when `pid` is a postmaster started with `-D data` (not a recycled pid, not a zombie).
bool IsPostmasterOf(pid_t pid, const fs::path& data) {
  const fs::path proc = fs::path("/proc") / std::to_string(pid);
  const std::string stat = ReadFile(proc / "stat");
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || stat.compare(paren, 3, ") Z") == 0) return false;
  std::string command_line = ReadFile(proc / "cmdline");
  std::replace(command_line.begin(), command_line.end(), '\0', ' ');
  return command_line.find(" " + data.string() + " ") != std::string::npos;
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadFile(entry.path() / "stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 1));
    char state = 0;
    long ppid = 0;
    if (fields >> state >> ppid && ppid == parent) children.push_back(std::stoi(name));
  }
  return children;
}

// SIGKILL to the postmaster of `data` and to its children (backends would exit on their own once
// they notice the postmaster is gone; this does not wait for them).
void KillPostmaster(const fs::path& data, pid_t known_pid) {
  for (const pid_t pid : {ReadPostmasterPid(data), known_pid}) {
    if (pid <= 0 || !IsPostmasterOf(pid, data)) continue;
    const std::vector<pid_t> children = ChildrenOf(pid);
    ::kill(pid, SIGKILL);
    for (const pid_t child : children) ::kill(child, SIGKILL);
  }
}

std::string TrimEnd(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};

}  // namespace

PgServer::PgServer() : owner_pid_(::getpid()) {
  if (::access((kBinDirectory / "initdb").c_str(), X_OK) != 0) {
    throw std::runtime_error("PostgreSQL 15 server not installed (apt-get install postgresql-15)");
  }
  as_postgres_ = ::geteuid() == 0;  // initdb and postgres refuse to run as root
  directory_ = MakeDirectory();
  data_ = directory_ / "data";
  server_log_ = directory_ / "server.log";
  command_log_ = directory_ / "commands.log";
  try {
    if (as_postgres_) ChownToPostgres(directory_);
    const auto initdb =
        Run(PgCommand("initdb", {"-D", data_.string(), "-A", "trust", "-U", "postgres", "-E",
                                 "UTF8", "--no-locale", "--no-sync", "--no-instructions"}),
            directory_, command_log_, kInitdbTimeout);
    if (initdb != 0) {
      throw std::runtime_error(fmt::format(
          "initdb failed in {}{}:\n{}", directory_.string(),
          as_postgres_ ? " (run as postgres: every parent directory must let it in)" : "",
          Tail(command_log_)));
    }
    for (int attempt = 1;; ++attempt) {
      port_ = FreeLoopbackPort();
      if (TryStart()) break;
      if (attempt == kStartAttempts) {
        throw std::runtime_error(
            fmt::format("PostgreSQL could not bind a free port in {} tries:\n{}", kStartAttempts,
                        Tail(server_log_)));
      }
    }
  } catch (...) {
    Destroy();
    throw;
  }
}

PgServer::~PgServer() {
  // A forked child (a death test, say) inherits this object: only the creator stops the server.
  if (::getpid() == owner_pid_) Destroy();
}

PgServer& PgServer::Shared() {
  // Constructed on first use; its destructor, run once by exit(), stops and removes the server.
  static PgServer server;
  return server;
}

std::vector<std::string> PgServer::PgCommand(const std::string& tool,
                                             const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  if (as_postgres_) argv = {Runuser().string(), "-u", "postgres", "--"};
  argv.push_back((kBinDirectory / tool).string());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

bool PgServer::TryStart() {
  const auto log_offset = SizeOf(server_log_);
  const std::string options = fmt::format(
      "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off "
      "-c full_page_writes=off -c max_connections=300",
      port_, directory_.string());
  const auto started =
      Run(PgCommand("pg_ctl", {"-D", data_.string(), "-l", server_log_.string(), "-w", "-t",
                               std::to_string(kPgCtlWaitSeconds), "-o", options, "start"}),
          directory_, command_log_, seconds(kPgCtlWaitSeconds) + kCommandMargin);
  if (started == 0) {
    postmaster_pid_ = ReadPostmasterPid(data_);
    running_ = true;
    return true;
  }
  // pg_ctl gave up (or was killed) while the server may still be starting: stop it for good.
  KillPostmaster(data_, ReadPostmasterPid(data_));
  const std::string log = Tail(server_log_, log_offset);
  if (log.find("could not bind") != std::string::npos &&
      log.find("Address already in use") != std::string::npos) {
    return false;
  }
  throw std::runtime_error(
      fmt::format("PostgreSQL did not start on port {}:\n{}\n{}", port_, log, Tail(command_log_)));
}

void PgServer::Stop() {
  std::lock_guard lock(mutex_);
  if (!running_) return;
  const auto stopped = Run(PgCommand("pg_ctl", {"-D", data_.string(), "-m", "fast", "-w", "-t",
                                                std::to_string(kPgCtlWaitSeconds), "stop"}),
                           directory_, command_log_, seconds(kPgCtlWaitSeconds) + kCommandMargin);
  if (stopped != 0) {
    std::cerr << "PgServer: pg_ctl stop -m fast failed; killing the postmaster\n"
              << Tail(command_log_) << '\n';
    KillPostmaster(data_, postmaster_pid_);
  }
  running_ = false;
}

void PgServer::Start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  if (!TryStart()) {
    throw std::runtime_error(fmt::format("PostgreSQL cannot start again: port {} is taken:\n{}",
                                         port_, Tail(server_log_)));
  }
}

void PgServer::Destroy() noexcept {
  if (running_) {
    std::optional<int> stopped;
    try {
      stopped = Run(PgCommand("pg_ctl", {"-D", data_.string(), "-m", "immediate", "-w", "-t",
                                         std::to_string(kImmediateStopSeconds), "stop"}),
                    directory_, command_log_, seconds(kImmediateStopSeconds) + kCommandMargin);
    } catch (const std::exception& error) {
      std::cerr << "PgServer: pg_ctl stop -m immediate: " << error.what() << '\n';
    }
    if (stopped != 0) KillPostmaster(data_, postmaster_pid_);
    running_ = false;
  }
  std::error_code error;
  fs::remove_all(directory_, error);
  if (error)
    std::cerr << "PgServer: cannot remove " << directory_ << ": " << error.message() << '\n';
}

std::string PgServer::CreateDatabase() {
  std::lock_guard lock(mutex_);
  const std::string name = fmt::format("herald_test_{}", ++next_database_);
  Exec("postgres", "CREATE DATABASE " + name, {});
  return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port_, name);
}

std::vector<std::string> PgServer::Query(const std::string& database, const std::string& sql) {
  return Exec(database, sql, {});
}

int PgServer::TerminateConnections(const std::string& database) {
  // Materialised first so that pg_terminate_backend only ever sees the chosen backends; the
  // timeout makes each call wait (bounded) until that backend has exited.
  const auto terminated = Exec("postgres",
                               "WITH targets AS MATERIALIZED ("
                               "  SELECT pid FROM pg_stat_activity"
                               "  WHERE datname = $1 AND backend_type = 'client backend'"
                               "    AND pid <> pg_backend_pid())"
                               "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000))"
                               "  FROM targets",
                               {database});
  return std::stoi(terminated.at(0));
}

std::vector<std::string> PgServer::Exec(const std::string& database, const std::string& sql,
                                        const std::vector<std::string>& params) {
  const std::string port = std::to_string(port_);
  const char* const keys[] = {"host",    "port",    "user", "dbname", "connect_timeout",
                              "sslmode", "options", nullptr};
  const char* const values[] = {"127.0.0.1",
                                port.c_str(),
                                "postgres",
                                database.c_str(),
                                "10",
                                "disable",
                                "-c statement_timeout=60000",
                                nullptr};
  const std::unique_ptr<PGconn, ConnectionCloser> connection(PQconnectdbParams(keys, values, 0));
  if (!connection) throw std::runtime_error("libpq: out of memory");
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    throw std::runtime_error(fmt::format("cannot connect to database {} on port {}: {}", database,
                                         port_, TrimEnd(PQerrorMessage(connection.get()))));
  }
  std::vector<const char*> param_values;
  for (const auto& param : params) param_values.push_back(param.c_str());
  const std::unique_ptr<PGresult, ResultClearer> result(
      params.empty()
          ? PQexec(connection.get(), sql.c_str())
          : PQexecParams(connection.get(), sql.c_str(), static_cast<int>(param_values.size()),
                         nullptr, param_values.data(), nullptr, nullptr, 0));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(
        TrimEnd(result ? PQresultErrorMessage(result.get()) : PQerrorMessage(connection.get())));
  }
  std::vector<std::string> rows;
  if (status == PGRES_TUPLES_OK && PQnfields(result.get()) > 0) {
    const int count = PQntuples(result.get());
    rows.reserve(count);
    for (int row = 0; row < count; ++row) rows.emplace_back(PQgetvalue(result.get(), row, 0));
  }
  return rows;
}

std::string DatabaseOf(const std::string& url) {
  const auto slash = url.rfind('/');
  return slash == std::string::npos ? url : url.substr(slash + 1);
}

}  // namespace herald::testing
