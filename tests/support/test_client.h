// A deliberately small blocking HTTP/1.1 + SSE client for loopback tests. Every read has a
// deadline; nothing here sleeps.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace herald::testing {

using namespace std::chrono_literals;

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string raw_head;

  std::string Header(const std::string& name) const;
};

// Socket options applied before connecting (0 leaves the kernel default).
struct SocketOptions {
  // SO_RCVBUF: a small one keeps the advertised window small from the handshake on.
  int receive_buffer = 0;
  // TCP_MAXSEG: a small MSS in the SYN keeps the server's initial send buffer small (the kernel
  // sizes it from the peer's MSS), so a client that stops reading pushes back within KiBs.
  int max_segment = 0;
};

// A TCP connection to 127.0.0.1:port with deadline-bounded reads.
class Connection {
 public:
  explicit Connection(unsigned short port);
  Connection(unsigned short port, SocketOptions options);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  ~Connection();

  void Send(const std::string& bytes);
  // Reads until `buffer()` contains `needle`, EOF, or the timeout. Returns whether found.
  bool ReadUntil(const std::string& needle, std::chrono::milliseconds timeout);
  // Reads until EOF or the timeout. Returns whether EOF was seen.
  bool ReadToEof(std::chrono::milliseconds timeout);
  // Reads one chunk, waiting at most `timeout`. Returns whether bytes arrived.
  bool ReadOnce(std::chrono::milliseconds timeout) {
    return ReadSome(std::chrono::steady_clock::now() + timeout);
  }
  // Reads whatever arrives within `timeout` (used to show that nothing more came).
  void ReadFor(std::chrono::milliseconds timeout);
  // Reads until `buffer()` holds at least `size` bytes, EOF, or the timeout. Returns whether it
  // does.
  bool ReadAtLeast(std::size_t size, std::chrono::milliseconds timeout);

  std::string& buffer() { return buffer_; }
  const std::string& buffer() const { return buffer_; }
  bool eof() const { return eof_; }
  void Close();
  // Stops reading but keeps the socket open: the peer's writes pile up (a slow consumer).
  void ShrinkReceiveBuffer();
  // The kernel's TCP state of this end (TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_CLOSE, … from
  // <netinet/tcp.h>), read without consuming anything: TCP_CLOSE once the peer reset it.
  int TcpState() const;

 private:
  bool ReadSome(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// One request on a fresh connection ("Connection: close"); reads the whole reply.
HttpReply Request(unsigned short port, const std::string& method, const std::string& target,
                  const std::vector<std::pair<std::string, std::string>>& headers = {},
                  const std::string& body = "", std::chrono::milliseconds timeout = 10s);

// Parses a full reply (head + Content-Length body) from raw bytes.
std::optional<HttpReply> ParseReply(const std::string& raw);

// Many requests in a row on one keep-alive connection (no TCP handshake per request): for tests
// that publish thousands of events. Each reply must carry a Content-Length.
class HttpClient {
 public:
  explicit HttpClient(unsigned short port) : connection_(port) {}

  // Throws std::runtime_error when no complete reply arrives within `timeout`.
  HttpReply Request(const std::string& method, const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    const std::string& body = "", std::chrono::milliseconds timeout = 10s);

 private:
  Connection connection_;
};

// An open SSE stream.
class SseStream {
 public:
  // Sends the GET and reads the head (and whatever bytes came with it).
  SseStream(unsigned short port, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& headers,
            std::chrono::milliseconds timeout = 10s);
  // The same, on a connection made with `socket` options.
  SseStream(unsigned short port, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& headers, SocketOptions socket,
            std::chrono::milliseconds timeout = 10s);

  int status() const { return head_.status; }
  const HttpReply& head() const { return head_; }

  // Waits until `count` complete frames ("...\n\n") have arrived after the head; returns all
  // complete frames received so far (at least `count`, or fewer on timeout/EOF).
  std::vector<std::string> WaitFrames(std::size_t count, std::chrono::milliseconds timeout = 10s);
  // Waits for a frame containing `needle`; returns it or nullopt.
  std::optional<std::string> WaitFrameContaining(const std::string& needle,
                                                 std::chrono::milliseconds timeout = 10s);
  // The next frame for sequential readers (the first call returns the opening), reading until
  // one is complete, EOF or `timeout`. WaitFrames does not move this cursor.
  std::optional<std::string> NextFrame(std::chrono::milliseconds timeout);
  // Every byte of the body so far (de-chunked).
  const std::string& body() const { return body_; }
  bool WaitEof(std::chrono::milliseconds timeout = 10s);
  // The body was chunked and the connection ended after a whole chunk but before the last
  // (zero-size) chunk: what a fetch-based reader reports as an error, not a clean end.
  bool EndedWithoutLastChunk() const;
  bool chunked() const { return chunked_; }
  Connection& connection() { return connection_; }

 private:
  void Absorb();

  Connection connection_;
  HttpReply head_;
  std::string body_;
  bool chunked_ = false;
  bool last_chunk_ = false;
  bool chunk_crlf_ = false;     // a chunk's data was read, its CRLF not yet
  std::size_t chunk_left_ = 0;  // data bytes of the current chunk still to come
  std::size_t next_frame_ = 0;  // NextFrame's cursor in body_
};

// Splits an SSE body into frames; each frame keeps its trailing "\n\n".
std::vector<std::string> SplitFrames(const std::string& body);
// The value of the first "field: " line of a frame, or "".
std::string FrameField(const std::string& frame, const std::string& field);

}  // namespace herald::testing
