#include "hub/subscriber_registry.h"

#include <algorithm>
#include <cassert>

namespace herald::hub {

void SubscriberRegistry::Add(Subscriber& subscriber) {
  by_user_[subscriber.user()].push_back(&subscriber);
  ++count_;
}

void SubscriberRegistry::Remove(Subscriber& subscriber) {
  const auto it = by_user_.find(subscriber.user());
  if (it == by_user_.end()) return;
  auto& list = it->second;
  const auto pos = std::find(list.begin(), list.end(), &subscriber);
  if (pos == list.end()) return;
  *pos = list.back();
  list.pop_back();
  --count_;
  if (list.empty()) by_user_.erase(it);
}

DispatchStats SubscriberRegistry::Dispatch(const std::vector<DeliveryItem>& batch) {
  DispatchStats stats;
  for (const DeliveryItem& item : batch) {
    const auto it = by_user_.find(item.user);
    if (it == by_user_.end()) continue;
    for (Subscriber* subscriber : it->second) {
      const bool was_open = !subscriber->closed();
      const std::size_t bytes = subscriber->Offer(item);
      if (bytes > 0) {
        ++stats.frames;
        stats.bytes += bytes;
      } else if (was_open && subscriber->closed()) {
        ++stats.overflowed;
      }
    }
  }
  return stats;
}

void SubscriberRegistry::ForEach(const std::function<void(Subscriber&)>& fn) {
  for (auto& [user, list] : by_user_) {
    for (Subscriber* subscriber : list) fn(*subscriber);
  }
}

void SubscriberRegistry::ForEachOf(const UserId& user, const std::function<void(Subscriber&)>& fn) {
  const auto it = by_user_.find(user);
  if (it == by_user_.end()) return;
  for (Subscriber* subscriber : it->second) fn(*subscriber);
}

}  // namespace herald::hub
