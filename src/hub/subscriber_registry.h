// The subscribers of one shard, by user: where delivery batches are dispatched.
//
// Thread rule: owning shard only (no locks; other threads post to the shard).
#pragma once

#include <cstddef>
#include <functional>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "hub/subscriber.h"

namespace herald::hub {

struct DispatchStats {
  std::size_t frames = 0;      // frames queued
  std::size_t bytes = 0;       // bytes queued
  std::size_t overflowed = 0;  // subscribers closed as slow consumers
};

class SubscriberRegistry {
 public:
  void Add(Subscriber& subscriber);
  void Remove(Subscriber& subscriber);

  DispatchStats Dispatch(const std::vector<DeliveryItem>& batch);

  // Calls `fn` for every registered subscriber (drain, admin disconnect).
  void ForEach(const std::function<void(Subscriber&)>& fn);
  // Calls `fn` for every subscriber of `user`.
  void ForEachOf(const UserId& user, const std::function<void(Subscriber&)>& fn);

  std::size_t size() const { return count_; }

 private:
  std::unordered_map<UserId, std::vector<Subscriber*>> by_user_;
  std::size_t count_ = 0;
};

}  // namespace herald::hub
