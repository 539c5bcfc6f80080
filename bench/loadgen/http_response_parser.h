// Incremental HTTP/1.1 response parser for the load generator (sans-I/O).
//
// Feed() takes whatever bytes arrived from the socket, keeps only the response head, and hands
// the decoded body (Content-Length, chunked or until-close) to a BodySink without copying it.
// Thread rule: one parser per connection, used by the connection's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::bench {

class BodySink {
 public:
  virtual void OnBody(std::string_view bytes) = 0;

 protected:
  ~BodySink() = default;
};

class ResponseParser {
 public:
  enum class State { kHead, kBody, kDone, kError };

  // Consumes bytes. Returns how many were consumed: all of them unless the response completed
  // (the rest would belong to the next response) or the bytes are not HTTP.
  std::size_t Feed(std::string_view in, BodySink& sink);

  // Ready for the next response on the same connection.
  void Reset();

  State state() const { return state_; }
  bool head_done() const { return state_ == State::kBody || state_ == State::kDone; }
  int status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }
  bool chunked() const { return body_mode_ == BodyMode::kChunked; }
  // Seconds from a Retry-After header; -1 when absent.
  int retry_after() const { return retry_after_; }
  std::string_view error() const { return error_; }

 private:
  enum class BodyMode { kNone, kLength, kChunked, kUntilClose };
  enum class Chunk { kSize, kExtension, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLf };

  std::size_t FeedHead(std::string_view in);
  bool ParseHead();
  std::size_t FeedChunked(std::string_view in, BodySink& sink);
  void Fail(std::string_view why);

  State state_ = State::kHead;
  BodyMode body_mode_ = BodyMode::kNone;
  Chunk chunk_ = Chunk::kSize;
  std::string head_;
  std::string error_;
  std::uint64_t remaining_ = 0;
  std::size_t trailer_line_ = 0;
  bool chunk_size_digits_ = false;
  int status_ = 0;
  int retry_after_ = -1;
  bool keep_alive_ = true;
};

}  // namespace herald::bench
