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

// A subscriber's place in a registry for the life of this object (or until Release): every
// Add has its Remove however the session that holds it ends, an exception included, so the
// registry never keeps a pointer to a subscriber that is gone.
class Registration {
 public:
  Registration(SubscriberRegistry& registry, Subscriber& subscriber)
      : registry_(&registry), subscriber_(&subscriber) {
    registry.Add(subscriber);
  }
  ~Registration() { Release(); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  // Removes the subscriber now; no more frames are queued for it. Idempotent.
  void Release() {
    if (registry_ == nullptr) return;
    registry_->Remove(*subscriber_);
    registry_ = nullptr;
  }

 private:
  SubscriberRegistry* registry_;
  Subscriber* subscriber_;
};

}  // namespace herald::hub
