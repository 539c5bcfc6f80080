#include "support/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <stdexcept>
#include <utility>

namespace herald::testing {

std::string HttpReply::Header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

Connection::Connection(unsigned short port) : Connection(port, SocketOptions{}) {}

Connection::Connection(unsigned short port, SocketOptions options) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  if (options.receive_buffer > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer,
                 sizeof(options.receive_buffer));
  }
  if (options.max_segment > 0) {
    ::setsockopt(fd_, IPPROTO_TCP, TCP_MAXSEG, &options.max_segment, sizeof(options.max_segment));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect() failed");
  }
}

Connection::Connection(Connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)), eof_(other.eof_) {}

Connection::~Connection() { Close(); }

void Connection::Close() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void Connection::ShrinkReceiveBuffer() {
  int size = 1024;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

int Connection::TcpState() const {
  tcp_info info{};
  socklen_t size = sizeof(info);
  if (::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return -1;
  return info.tcpi_state;
}

void Connection::Send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send() failed");
    sent += static_cast<std::size_t>(n);
  }
}

bool Connection::ReadSome(std::chrono::steady_clock::time_point deadline) {
  if (eof_ || fd_ < 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
  if (ready <= 0) return false;
  char chunk[16384];
  const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

bool Connection::ReadUntil(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.find(needle) == std::string::npos) {
    if (!ReadSome(deadline) && (eof_ || std::chrono::steady_clock::now() >= deadline)) {
      return buffer_.find(needle) != std::string::npos;
    }
  }
  return true;
}

bool Connection::ReadToEof(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_ && std::chrono::steady_clock::now() < deadline) ReadSome(deadline);
  return eof_;
}

void Connection::ReadFor(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_ && std::chrono::steady_clock::now() < deadline) ReadSome(deadline);
}

bool Connection::ReadAtLeast(std::size_t size, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.size() < size) {
    if (!ReadSome(deadline) && (eof_ || std::chrono::steady_clock::now() >= deadline)) {
      return buffer_.size() >= size;
    }
  }
  return true;
}

namespace {

// The length of the reply at the front of `raw` as its head declares it (head + Content-Length
// body; no Content-Length means no body), or nullopt while the head is incomplete.
std::optional<std::size_t> DeclaredReplyLength(const std::string& raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  std::string head = raw.substr(0, head_end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t length = 0;
  const auto field = head.find("\r\ncontent-length:");
  if (field != std::string::npos) {
    length = std::stoul(head.substr(field + std::string_view("\r\ncontent-length:").size()));
  }
  return head_end + 4 + length;
}

}  // namespace

std::optional<HttpReply> ParseReply(const std::string& raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  HttpReply reply;
  reply.raw_head = raw.substr(0, head_end + 4);
  const auto first_line_end = raw.find("\r\n");
  const std::string status_line = raw.substr(0, first_line_end);
  if (status_line.size() < 12) return std::nullopt;
  reply.status = std::stoi(status_line.substr(9, 3));
  std::size_t pos = first_line_end + 2;
  while (pos < head_end) {
    const auto end = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, end - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      reply.headers[name] = value;
    }
    pos = end + 2;
  }
  reply.body = raw.substr(head_end + 4);
  const auto length = reply.headers.find("content-length");
  if (length != reply.headers.end()) {
    const std::size_t n = std::stoul(length->second);
    if (reply.body.size() < n) return std::nullopt;
    reply.body.resize(n);
  }
  return reply;
}

HttpReply Request(unsigned short port, const std::string& method, const std::string& target,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& body, std::chrono::milliseconds timeout) {
  Connection connection(port);
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_content_length = false;
  for (const auto& [name, value] : headers) {
    request += name + ": " + value + "\r\n";
    has_content_length = has_content_length || name == "Content-Length";
  }
  if (!body.empty() && !has_content_length) {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "Connection: close\r\n\r\n" + body;
  connection.Send(request);
  connection.ReadToEof(timeout);
  auto reply = ParseReply(connection.buffer());
  if (!reply) throw std::runtime_error("no complete HTTP reply: " + connection.buffer());
  return *reply;
}

HttpReply HttpClient::Request(const std::string& method, const std::string& target,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& body, std::chrono::milliseconds timeout) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_content_length = false;
  for (const auto& [name, value] : headers) {
    request += name + ": " + value + "\r\n";
    has_content_length = has_content_length || name == "Content-Length";
  }
  if (!has_content_length) request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  connection_.Send(request);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto left = [&deadline] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  std::string& raw = connection_.buffer();
  if (!connection_.ReadUntil("\r\n\r\n", left())) {
    throw std::runtime_error("no reply head: " + raw);
  }
  const std::size_t length = *DeclaredReplyLength(raw);
  if (!connection_.ReadAtLeast(length, left())) {
    throw std::runtime_error("incomplete reply: " + raw);
  }
  auto reply = ParseReply(raw.substr(0, length));
  raw.erase(0, length);
  if (!reply) throw std::runtime_error("unparsable reply");
  return *reply;
}

SseStream::SseStream(unsigned short port, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     std::chrono::milliseconds timeout)
    : SseStream(port, target, headers, SocketOptions{}, timeout) {}

SseStream::SseStream(unsigned short port, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     SocketOptions socket, std::chrono::milliseconds timeout)
    : connection_(port, socket) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "Accept: text/event-stream\r\n\r\n";
  connection_.Send(request);
  if (!connection_.ReadUntil("\r\n\r\n", timeout)) {
    throw std::runtime_error("no response head: " + connection_.buffer());
  }
  // A stream has no Content-Length; an error reply has one: read its body too (to its length:
  // the connection may stay open).
  const std::size_t length = *DeclaredReplyLength(connection_.buffer());
  connection_.ReadAtLeast(length, timeout);
  auto reply = ParseReply(connection_.buffer().substr(0, length));
  if (!reply) throw std::runtime_error("incomplete reply: " + connection_.buffer());
  head_ = std::move(*reply);
  chunked_ = head_.Header("transfer-encoding") == "chunked";
  connection_.buffer().erase(0, length);
  Absorb();
}

void SseStream::Absorb() {
  std::string& raw = connection_.buffer();
  if (!chunked_) {
    body_ += raw;
    raw.clear();
    return;
  }
  // Decodes every complete piece of "<hex size>\r\n<data>\r\n"; a partial one waits for more.
  for (;;) {
    if (chunk_left_ > 0) {
      const std::size_t n = std::min(chunk_left_, raw.size());
      body_.append(raw, 0, n);
      raw.erase(0, n);
      chunk_left_ -= n;
      if (chunk_left_ > 0) return;
      chunk_crlf_ = true;
    }
    if (chunk_crlf_) {
      if (raw.size() < 2) return;
      if (raw.compare(0, 2, "\r\n") != 0) throw std::runtime_error("chunk without CRLF: " + raw);
      raw.erase(0, 2);
      chunk_crlf_ = false;
    }
    if (last_chunk_) return;
    const auto line_end = raw.find("\r\n");
    if (line_end == std::string::npos) return;
    const std::size_t size = std::stoul(raw.substr(0, line_end), nullptr, 16);
    raw.erase(0, line_end + 2);
    if (size == 0) {
      last_chunk_ = true;
      return;
    }
    chunk_left_ = size;
  }
}

std::optional<std::string> SseStream::NextFrame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Absorb();
    const auto end = body_.find("\n\n", next_frame_);
    if (end != std::string::npos) {
      std::string frame = body_.substr(next_frame_, end + 2 - next_frame_);
      next_frame_ = end + 2;
      return frame;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || connection_.eof()) return std::nullopt;
    connection_.ReadOnce(left);
  }
}

std::vector<std::string> SseStream::WaitFrames(std::size_t count,
                                               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Absorb();
    auto frames = SplitFrames(body_);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (frames.size() >= count || connection_.eof() || left.count() <= 0) return frames;
    connection_.ReadOnce(left);
  }
}

std::optional<std::string> SseStream::WaitFrameContaining(const std::string& needle,
                                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t seen = 0;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto frames = WaitFrames(seen + 1, std::max(left, std::chrono::milliseconds(0)));
    for (std::size_t i = seen; i < frames.size(); ++i) {
      if (frames[i].find(needle) != std::string::npos) return frames[i];
    }
    seen = frames.size();
    if (left.count() <= 0 || connection_.eof()) return std::nullopt;
  }
}

bool SseStream::WaitEof(std::chrono::milliseconds timeout) {
  const bool eof = connection_.ReadToEof(timeout);
  Absorb();
  return eof;
}

bool SseStream::EndedWithoutLastChunk() const {
  return connection_.eof() && chunked_ && !last_chunk_ && chunk_left_ == 0 && !chunk_crlf_ &&
         connection_.buffer().empty();
}

std::vector<std::string> SplitFrames(const std::string& body) {
  std::vector<std::string> frames;
  std::size_t start = 0;
  for (;;) {
    const auto end = body.find("\n\n", start);
    if (end == std::string::npos) break;
    frames.push_back(body.substr(start, end + 2 - start));
    start = end + 2;
  }
  return frames;
}

std::string FrameField(const std::string& frame, const std::string& field) {
  const std::string prefix = field + ": ";
  std::size_t pos = 0;
  while (pos < frame.size()) {
    const auto end = frame.find('\n', pos);
    const std::string line = frame.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "";
}

}  // namespace herald::testing
