// Keep-alive HTTP publishers: as fast as possible (one request in flight per connection, the
// next sequence number taken from a shared counter) or paced at a steady rate.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <string>

#include "worker.h"

namespace herald::bench {

// One publisher connection's results. Touched only by its worker's thread during the run.
struct PublisherResult {
  std::uint64_t accepted = 0;    // events (batch: items) stored
  std::uint64_t requests = 0;    // requests answered 2xx
  std::uint64_t failed = 0;      // refused for good, or retries exhausted
  std::uint64_t retries = 0;     // 429/503 answers that were retried
  std::uint64_t reconnects = 0;  // connections opened after the first
  std::int64_t done_ns = 0;
  std::map<int, std::uint64_t> statuses;       // every answer's status code
  std::map<int, std::uint64_t> item_statuses;  // batch items refused, by status
  std::string first_error;
};

// `index` in [0, plan.publishers): when paced, this publisher sends events index, index + P, …
boost::asio::awaitable<void> RunPublisher(Worker* worker, const Plan* plan, PublishShared* shared,
                                          PublisherResult* result, int index);

}  // namespace herald::bench
