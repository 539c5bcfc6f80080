#include "support/herald_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <stdexcept>
#include <thread>

namespace herald::testing {

HeraldProcess::HeraldProcess(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<std::string> argv_text = {binary, "serve"};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  stdout_ = out[0];
  try {
    port_ = ReadPort();
  } catch (...) {
    Kill(SIGKILL);
    ::close(stdout_);
    throw;
  }
}

HeraldProcess::~HeraldProcess() {
  if (pid_ > 0) Kill(SIGKILL);
  if (stdout_ >= 0) ::close(stdout_);
}

int HeraldProcess::Kill(int signal) {
  if (pid_ <= 0) return 0;
  ::kill(pid_, signal);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the child, bounded
  }
  pid_ = -1;
  return status;
}

unsigned short HeraldProcess::ReadPort() {
  static const std::regex kListening(R"(listening on http://127\.0\.0\.1:(\d+))");
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    std::smatch match;
    if (std::regex_search(text, match, kListening)) return std::stoi(match[1].str());
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no listening line: " + text);
    pollfd p{stdout_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[512];
    const ssize_t n = ::read(stdout_, buffer, sizeof buffer);
    if (n <= 0) throw std::runtime_error("server exited before listening: " + text);
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace herald::testing
