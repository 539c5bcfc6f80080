#include "auth/dev_secret.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

namespace herald::auth {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFileName = "dev-secret";
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kMaxFileBytes = 4096;

[[noreturn]] void Fail(const fs::path& path, std::string_view what, int error) {
  throw std::runtime_error(std::string(what) + " " + path.string() + ": " + std::strerror(error));
}

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

// The trimmed contents of `path`, or nullopt when it does not exist.
std::optional<std::string> ReadSecret(const fs::path& path) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    Fail(path, "cannot open", errno);
  }
  std::string contents;
  std::array<char, 512> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail(path, "cannot read", errno);
    }
    if (n == 0) break;
    contents.append(buffer.data(), static_cast<std::size_t>(n));
    if (contents.size() > kMaxFileBytes) {
      throw std::runtime_error("development secret " + path.string() + " is larger than 4 KiB");
    }
  }
  const std::string_view secret = Trim(contents);
  if (secret.empty()) throw std::runtime_error("development secret " + path.string() + " is empty");
  return std::string(secret);
}

std::string RandomHex() {
  std::array<unsigned char, kSecretBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    ERR_clear_error();
    throw std::runtime_error("cannot generate a development secret: OpenSSL RAND_bytes failed");
  }
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0f]);
  }
  return hex;
}

void WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail(path, "cannot write", errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Writes `secret` to a private temporary file in `dir` and returns its path.
fs::path WriteTemporary(const fs::path& dir, const std::string& secret) {
  std::string pattern = (dir / ".dev-secret.XXXXXX").string();
  Fd fd(::mkostemp(pattern.data(), O_CLOEXEC));  // glibc creates it with mode 0600
  fs::path temporary(pattern);
  if (fd.get() < 0) Fail(temporary, "cannot create", errno);
  try {
    if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) Fail(temporary, "cannot chmod", errno);
    WriteAll(fd.get(), secret + "\n", temporary);
    if (::fsync(fd.get()) != 0) Fail(temporary, "cannot sync", errno);
    if (::close(fd.Release()) != 0) Fail(temporary, "cannot close", errno);
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
  return temporary;
}

}  // namespace

std::string LoadOrCreateDevSecret(const fs::path& data_dir) {
  const fs::path path = data_dir / kFileName;
  if (auto existing = ReadSecret(path)) return *std::move(existing);

  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) Fail(data_dir, "cannot create directory", ec.value());

  std::string secret = RandomHex();
  const fs::path temporary = WriteTemporary(data_dir, secret);
  // link(2) never replaces an existing file: if another process won the race, use its secret.
  const int linked = ::link(temporary.c_str(), path.c_str());
  const int link_error = errno;
  ::unlink(temporary.c_str());
  if (linked == 0) return secret;
  if (link_error != EEXIST) Fail(path, "cannot create", link_error);
  if (auto existing = ReadSecret(path)) return *std::move(existing);
  throw std::runtime_error("development secret " + path.string() + " vanished while reading it");
}

}  // namespace herald::auth
