#include "http_response_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace herald::bench {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::string_view kHeadEnd = "\r\n\r\n";

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IContains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (IEquals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void ResponseParser::Reset() {
  state_ = State::kHead;
  body_mode_ = BodyMode::kNone;
  chunk_ = Chunk::kSize;
  head_.clear();
  error_.clear();
  remaining_ = 0;
  trailer_line_ = 0;
  chunk_size_digits_ = false;
  status_ = 0;
  retry_after_ = -1;
  keep_alive_ = true;
}

void ResponseParser::Fail(std::string_view why) {
  state_ = State::kError;
  error_ = why;
}

std::size_t ResponseParser::Feed(std::string_view in, BodySink& sink) {
  std::size_t used = 0;
  while (used < in.size() && (state_ == State::kHead || state_ == State::kBody)) {
    const std::string_view rest = in.substr(used);
    if (state_ == State::kHead) {
      used += FeedHead(rest);
      continue;
    }
    switch (body_mode_) {
      case BodyMode::kLength: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        sink.OnBody(rest.substr(0, n));
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) state_ = State::kDone;
        break;
      }
      case BodyMode::kUntilClose:
        sink.OnBody(rest);
        used += rest.size();
        break;
      case BodyMode::kChunked:
        used += FeedChunked(rest, sink);
        break;
      case BodyMode::kNone:
        state_ = State::kDone;
        break;
    }
  }
  return used;
}

std::size_t ResponseParser::FeedHead(std::string_view in) {
  const std::size_t old = head_.size();
  head_.append(in);
  const std::size_t from = old >= 3 ? old - 3 : 0;
  const std::size_t end = head_.find(kHeadEnd, from);
  if (end == std::string::npos) {
    if (head_.size() > kMaxHead) Fail("response head too large");
    return in.size();
  }
  const std::size_t head_len = end + kHeadEnd.size();
  head_.resize(head_len);
  if (!ParseHead()) return in.size();
  return head_len - old;
}

bool ResponseParser::ParseHead() {
  std::string_view head = head_;
  const std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    Fail("not an HTTP response");
    return false;
  }
  const bool http10 = status_line.substr(5, 3) == "1.0";
  keep_alive_ = !http10;
  const std::string_view code = status_line.substr(9, 3);
  if (std::from_chars(code.data(), code.data() + code.size(), status_).ec != std::errc{}) {
    Fail("bad status code");
    return false;
  }
  bool has_length = false;
  bool chunked = false;
  std::uint64_t length = 0;
  head.remove_prefix(line_end + 2);
  while (!head.empty()) {
    const std::size_t eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    const std::size_t colon = line.find(':');
    if (line.empty() || colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (IEquals(name, "content-length")) {
      has_length =
          std::from_chars(value.data(), value.data() + value.size(), length).ec == std::errc{};
    } else if (IEquals(name, "transfer-encoding")) {
      chunked = IContains(value, "chunked");
    } else if (IEquals(name, "connection")) {
      if (IContains(value, "close")) keep_alive_ = false;
      if (IContains(value, "keep-alive")) keep_alive_ = true;
    } else if (IEquals(name, "retry-after")) {
      int seconds = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), seconds).ec == std::errc{}) {
        retry_after_ = seconds;
      }
    }
  }
  state_ = State::kBody;
  if (status_ / 100 == 1 || status_ == 204 || status_ == 304) {
    body_mode_ = BodyMode::kNone;
    state_ = State::kDone;
  } else if (chunked) {
    body_mode_ = BodyMode::kChunked;
  } else if (has_length) {
    body_mode_ = BodyMode::kLength;
    remaining_ = length;
    if (length == 0) state_ = State::kDone;
  } else {
    body_mode_ = BodyMode::kUntilClose;
    keep_alive_ = false;
  }
  return true;
}

std::size_t ResponseParser::FeedChunked(std::string_view in, BodySink& sink) {
  std::size_t i = 0;
  while (i < in.size() && state_ == State::kBody) {
    const char c = in[i];
    switch (chunk_) {
      case Chunk::kSize: {
        const int v = HexValue(c);
        if (v >= 0) {
          if (remaining_ > (UINT64_MAX >> 4)) {
            Fail("chunk size overflow");
            return i;
          }
          remaining_ = (remaining_ << 4) | static_cast<std::uint64_t>(v);
          chunk_size_digits_ = true;
        } else if (!chunk_size_digits_) {
          Fail("bad chunk size");
          return i;
        } else if (c == '\r') {
          chunk_ = Chunk::kSizeLf;
        } else {
          chunk_ = Chunk::kExtension;
        }
        ++i;
        break;
      }
      case Chunk::kExtension:
        if (c == '\r') chunk_ = Chunk::kSizeLf;
        ++i;
        break;
      case Chunk::kSizeLf:
        if (c != '\n') {
          Fail("bad chunk size line");
          return i;
        }
        ++i;
        chunk_size_digits_ = false;
        if (remaining_ == 0) {
          chunk_ = Chunk::kTrailer;
          trailer_line_ = 0;
        } else {
          chunk_ = Chunk::kData;
        }
        break;
      case Chunk::kData: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
        sink.OnBody(in.substr(i, n));
        remaining_ -= n;
        i += n;
        if (remaining_ == 0) chunk_ = Chunk::kDataCr;
        break;
      }
      case Chunk::kDataCr:
        if (c != '\r') {
          Fail("missing CR after chunk");
          return i;
        }
        chunk_ = Chunk::kDataLf;
        ++i;
        break;
      case Chunk::kDataLf:
        if (c != '\n') {
          Fail("missing LF after chunk");
          return i;
        }
        chunk_ = Chunk::kSize;
        ++i;
        break;
      case Chunk::kTrailer:
        if (c == '\r') {
          chunk_ = Chunk::kTrailerLf;
        } else {
          ++trailer_line_;
        }
        ++i;
        break;
      case Chunk::kTrailerLf:
        if (c != '\n') {
          Fail("bad trailer");
          return i;
        }
        ++i;
        if (trailer_line_ == 0) {
          state_ = State::kDone;
        } else {
          trailer_line_ = 0;
          chunk_ = Chunk::kTrailer;
        }
        break;
    }
  }
  return i;
}

}  // namespace herald::bench
