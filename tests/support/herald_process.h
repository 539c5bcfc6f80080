// A `herald serve` child process for tests that need the real binary (crash safety, clusters):
// started with the given arguments, its port read from the "listening on" line, killed and
// reaped on destruction.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace herald::testing {

class HeraldProcess {
 public:
  // Runs `binary serve <args…>` and waits (at most 10 s) for its listening line; throws
  // std::runtime_error with what it printed when it exits or stays silent.
  HeraldProcess(const std::string& binary, const std::vector<std::string>& args);
  ~HeraldProcess();
  HeraldProcess(const HeraldProcess&) = delete;
  HeraldProcess& operator=(const HeraldProcess&) = delete;

  unsigned short port() const { return port_; }
  bool running() const { return pid_ > 0; }

  // Sends `signal` and reaps the child (bounded; SIGKILL if it does not exit within 10 s).
  // Returns the wait status.
  int Kill(int signal);

 private:
  unsigned short ReadPort();

  pid_t pid_ = -1;
  int stdout_ = -1;
  unsigned short port_ = 0;
};

}  // namespace herald::testing
