#include "target.h"

#include <fmt/format.h>
#include <jwt.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace herald::bench {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
struct CharFree {
  void operator()(char* p) const { std::free(p); }  // NOLINT: libjwt returns malloc'd text
};

std::string UserId(int user) { return fmt::format("user-{}", user); }

// Reads an unsigned integer at `text[i]` (after optional spaces); -1 if there is none.
std::int64_t ReadInt(std::string_view text, std::size_t& i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
  if (i >= text.size() || text[i] < '0' || text[i] > '9') return -1;
  std::int64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') v = v * 10 + (text[i++] - '0');
  return v;
}

}  // namespace

BatchAnswer ParseBatchAnswer(std::string_view body) {
  // A small scanner, string- and nesting-aware: the "status" keys of the objects directly in
  // the "results" array, and the top-level "accepted" and "rejected".
  BatchAnswer answer;
  int depth = 0;              // {} and [] nesting
  int results_depth = -1;     // depth inside the results array, when in it
  std::string_view last_key;  // the last string read, if it was followed by ':'
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '"') {
      const std::size_t start = ++i;
      while (i < body.size() && body[i] != '"') i += body[i] == '\\' ? 2 : 1;
      if (i >= body.size()) return answer;
      const std::string_view text = body.substr(start, i - start);
      std::size_t j = i + 1;
      while (j < body.size() && (body[j] == ' ' || body[j] == '\n' || body[j] == '\t')) ++j;
      if (j >= body.size() || body[j] != ':') continue;
      i = j;
      last_key = text;
      if (depth == 1 && text == "accepted") {
        answer.accepted = ReadInt(body, ++i);
        --i;
      } else if (depth == 1 && text == "rejected") {
        answer.rejected = ReadInt(body, ++i);
        --i;
      } else if (results_depth >= 0 && depth == results_depth + 1 && text == "status") {
        const std::int64_t status = ReadInt(body, ++i);
        --i;
        if (status < 0) return answer;
        answer.statuses.push_back(static_cast<int>(status));
      }
    } else if (c == '{') {
      ++depth;
    } else if (c == '[') {
      if (depth == 1 && last_key == "results") results_depth = depth + 1;
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
      if (results_depth >= 0 && depth < results_depth) results_depth = -1;
    } else if (c == ',') {
      last_key = {};
    }
  }
  std::int64_t ok = 0;
  for (const int status : answer.statuses) ok += Target::Accepted(status) ? 1 : 0;
  answer.ok = depth == 0 && answer.accepted == ok &&
              answer.rejected == static_cast<std::int64_t>(answer.statuses.size()) - ok;
  return answer;
}

std::string MintToken(std::string_view secret, std::string_view sub, std::string_view scope,
                      int ttl_seconds) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  const std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  const std::string key(secret);
  const std::string sub_text(sub);
  const std::string scope_text(scope);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0 ||
      jwt_add_grant(jwt.get(), "sub", sub_text.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now)) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(now + ttl_seconds)) != 0 ||
      (!scope_text.empty() && jwt_add_grant(jwt.get(), "scope", scope_text.c_str()) != 0)) {
    throw std::runtime_error("building a JWT failed");
  }
  const std::unique_ptr<char, CharFree> text(jwt_encode_str(jwt.get()));
  if (!text) throw std::runtime_error("jwt_encode_str failed");
  return std::string(text.get());
}

Target::Target(const Options& options)
    : kind_(options.target),
      host_header_(fmt::format("{}:{}", options.host, options.port)),
      stream_path_(options.stream_path),
      publish_path_(options.publish_path),
      batch_path_(options.batch_path),
      event_size_(options.event_size),
      padding_(static_cast<std::size_t>(options.event_size), 'x') {
  if (kind_ != TargetKind::kHerald) return;
  user_tokens_.reserve(static_cast<std::size_t>(options.users));
  for (int u = 0; u < options.users; ++u) {
    user_tokens_.push_back(MintToken(options.jwt_secret, UserId(u), "", options.token_ttl));
  }
  publisher_token_ = MintToken(options.jwt_secret, "bench", "events:publish", options.token_ttl);
}

std::string Target::SubscribeRequest(int user, std::string_view last_event_id) const {
  const std::string resume =
      last_event_id.empty() ? std::string() : fmt::format("Last-Event-ID: {}\r\n", last_event_id);
  if (kind_ == TargetKind::kHerald) {
    return fmt::format(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n{}\r\n",
        stream_path_, host_header_, user_tokens_[static_cast<std::size_t>(user)], resume);
  }
  return fmt::format(
      "GET /sub/user_{} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n{}\r\n",
      user, host_header_, resume);
}

void Target::EventBody(int user, std::int64_t seq, std::int64_t t_ns, std::string& out) const {
  out.clear();
  fmt::format_to(
      std::back_inserter(out),
      R"({{"user_id":"user-{}","type":"CUSTOM","name":"bench","value":{{"t":{},"s":{},"pad":")",
      user, t_ns, seq);
  constexpr std::string_view kTail = R"("}})";
  const std::size_t bare = out.size() + kTail.size();
  const auto want = static_cast<std::size_t>(event_size_);
  if (want > bare) out.append(padding_, 0, want - bare);
  out.append(kTail);
}

void Target::PublishRequest(int user, std::int64_t seq, std::int64_t t_ns, std::string& out) const {
  thread_local std::string body;
  EventBody(user, seq, t_ns, body);
  out.clear();
  if (kind_ == TargetKind::kHerald) {
    fmt::format_to(std::back_inserter(out),
                   "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n"
                   "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                   publish_path_, host_header_, publisher_token_, body.size());
  } else {
    fmt::format_to(std::back_inserter(out),
                   "POST /pub/user_{} HTTP/1.1\r\nHost: {}\r\n"
                   "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                   user, host_header_, body.size());
  }
  out.append(body);
}

}  // namespace herald::bench

namespace herald::bench {

void Target::BatchBody(std::int64_t first_seq, int count, int users, std::int64_t t_ns,
                       std::string& out) const {
  out.clear();
  out.push_back('[');
  constexpr std::string_view kTail = R"("}}})";
  for (int k = 0; k < count; ++k) {
    const std::int64_t seq = first_seq + k;
    if (k > 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out), R"({{"user_id":"user-{}","protocol":"agui","event":)",
                   seq % users);
    const std::size_t event_start = out.size();
    fmt::format_to(std::back_inserter(out),
                   R"({{"type":"CUSTOM","name":"bench","value":{{"t":{},"s":{},"pad":")", t_ns,
                   seq);
    // The event object alone (without the item's closing brace) is padded to the event size.
    const std::size_t bare = out.size() - event_start + kTail.size() - 1;
    const auto want = static_cast<std::size_t>(event_size_);
    if (want > bare) out.append(padding_, 0, want - bare);
    out.append(kTail);
  }
  out.push_back(']');
}

void Target::BatchRequest(std::int64_t first_seq, int count, int users, std::int64_t t_ns,
                          std::string& out) const {
  thread_local std::string body;
  BatchBody(first_seq, count, users, t_ns, body);
  out.clear();
  fmt::format_to(std::back_inserter(out),
                 "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n"
                 "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                 batch_path_, host_header_, publisher_token_, body.size());
  out.append(body);
}

}  // namespace herald::bench
