#include "hub/subscriber.h"

#include "core/sse.h"

namespace herald::hub {

namespace {

Frame EventFrame(const StoredEvent& event, bool wrapped) {
  std::string frame;
  frame.reserve(event.json.size() + sse::kEventFrameOverhead);
  sse::AppendEventFrame(frame, event.id, event.protocol, event.json, wrapped);
  return std::make_shared<const std::string>(std::move(frame));
}

}  // namespace

DeliveryItem MakeDeliveryItem(const StoredEvent& event) {
  DeliveryItem item{event.user, event.protocol, event.context, event.id.sequence,
                    nullptr,    nullptr,        event.position};
  if (PrimaryStream(event.protocol)) item.bare = EventFrame(event, false);
  item.wrapped = EventFrame(event, true);
  return item;
}

bool Subscriber::Wants(const DeliveryItem& item) const {
  if (!StreamCarries(stream_, item.protocol)) return false;
  if (context_ && item.context != context_) return false;
  return true;
}

std::size_t Subscriber::Offer(const DeliveryItem& item) {
  if (closed() || !Wants(item)) return 0;
  const Frame& frame = stream_ == Stream::kContexts ? item.wrapped : item.bare;
  const bool was_empty = outbox_.empty();
  if (!outbox_.Push({item.sequence, frame})) {
    Close(DisconnectReason::kSlowConsumer);
    return 0;
  }
  if (was_empty) on_ready_(false);
  return frame->size();
}

std::size_t Subscriber::Close(DisconnectReason reason) {
  if (close_reason_) return 0;
  close_reason_ = reason;
  const std::size_t released = outbox_.Clear();
  on_ready_(true);
  return released;
}

}  // namespace herald::hub
