// What the load generator says to each kind of server: subscribe requests, publish requests and
// bodies, and which publish answers count as accepted. Tokens for Herald are minted here.
// Thread rule: built once before the run, then const and shared by every thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "options.h"

namespace herald::bench {

// An HS256 JWT with sub, exp (now + ttl) and, when not empty, scope.
std::string MintToken(std::string_view secret, std::string_view sub, std::string_view scope,
                      int ttl_seconds);

// The per-item statuses of a batch answer {"results":[{"status":N,…},…],"accepted":A,
// "rejected":R}, in order; `ok` is false when the body is not such an answer or the counts
// disagree.
struct BatchAnswer {
  bool ok = false;
  std::vector<int> statuses;
  std::int64_t accepted = -1;
  std::int64_t rejected = -1;
};
BatchAnswer ParseBatchAnswer(std::string_view body);

class Target {
 public:
  explicit Target(const Options& options);

  // The whole GET request that opens user `user`'s stream (resuming after `last_event_id`
  // when it is not empty).
  std::string SubscribeRequest(int user, std::string_view last_event_id = {}) const;

  // Replaces `out` with the whole POST request publishing event `seq` for `user`, stamped with
  // `t_ns` and padded to the configured event size.
  void PublishRequest(int user, std::int64_t seq, std::int64_t t_ns, std::string& out) const;

  // The body alone (exposed for tests and for sizing).
  void EventBody(int user, std::int64_t seq, std::int64_t t_ns, std::string& out) const;

  // Batch publishing (Herald's POST /api/v1/events): events first_seq … first_seq + count - 1,
  // event seq for user seq % users, as one JSON array of {"user_id","protocol","event"} items,
  // each event padded like EventBody.
  void BatchRequest(std::int64_t first_seq, int count, int users, std::int64_t t_ns,
                    std::string& out) const;
  void BatchBody(std::int64_t first_seq, int count, int users, std::int64_t t_ns,
                 std::string& out) const;

  static bool Accepted(int status) { return status >= 200 && status < 300; }
  static bool Retryable(int status) { return status == 429 || status == 503; }

 private:
  TargetKind kind_;
  std::string host_header_;
  std::string stream_path_;
  std::string publish_path_;
  std::string batch_path_;
  int event_size_;
  std::vector<std::string> user_tokens_;  // Herald only
  std::string publisher_token_;           // Herald only
  std::string padding_;
};

}  // namespace herald::bench
