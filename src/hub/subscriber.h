// One open stream as the hub sees it: whose it is, what it wants, and its bounded outbox.
//
// Thread rule: owning shard only. The session that owns the socket holds the Subscriber; the
// shard's registry points at it while it is registered.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <utility>

#include "core/event.h"
#include "core/ids.h"
#include "hub/metrics.h"
#include "hub/outbox.h"

namespace herald::hub {

// What the writer thread posts to every shard after a group commit: each event once, with its
// frames serialised once and shared by every connection (spec §5).
struct DeliveryItem {
  UserId user;
  Protocol protocol = Protocol::kAgui;
  std::optional<ContextId> context;
  std::uint64_t sequence = 0;
  Frame bare;                  // for the protocol's own stream; null for System events
  Frame wrapped;               // for the contexts stream
  std::uint64_t position = 0;  // StoredEvent::position (cluster stores)
};

// The item for a stored event: its frames serialised here, once.
DeliveryItem MakeDeliveryItem(const StoredEvent& event);

class Subscriber {
 public:
  // `on_ready(closing)` is called on the owning shard when frames were queued (false) or the
  // subscriber was closed (true): the session's cue to wake up, and on close to abandon a
  // pending write.
  Subscriber(ConnectionId id, UserId user, Stream stream, std::optional<ContextId> context,
             OutboxLimits limits, std::atomic<std::int64_t>* shard_bytes,
             std::function<void(bool closing)> on_ready)
      : id_(id),
        user_(std::move(user)),
        stream_(stream),
        context_(std::move(context)),
        outbox_(limits, shard_bytes),
        on_ready_(std::move(on_ready)) {}

  ConnectionId id() const { return id_; }
  const UserId& user() const { return user_; }
  Stream stream() const { return stream_; }
  const std::optional<ContextId>& context() const { return context_; }
  Outbox& outbox() { return outbox_; }

  // Whether this subscriber wants the event (stream routing and context filter).
  bool Wants(const DeliveryItem& item) const;

  // Queues the event's frame. Returns the bytes queued, 0 when it was not wanted or the
  // subscriber is closed. On overflow the subscriber closes itself as a slow consumer.
  std::size_t Offer(const DeliveryItem& item);

  // Ends the stream for `reason` (first reason wins); drops queued frames and wakes the session.
  // Returns the bytes released from the outbox.
  std::size_t Close(DisconnectReason reason);

  bool closed() const { return close_reason_.has_value(); }
  std::optional<DisconnectReason> close_reason() const { return close_reason_; }

  // Write watchdog: the session marks when a socket write starts and ends; the shard's sweeper
  // closes subscribers whose write has been pending too long (a peer that stopped reading).
  void MarkWriteStarted(std::chrono::steady_clock::time_point now) { write_started_ = now; }
  void MarkWriteDone() { write_started_ = {}; }
  bool WriteStalledSince(std::chrono::steady_clock::time_point deadline) const {
    return write_started_ != std::chrono::steady_clock::time_point{} && write_started_ < deadline;
  }

 private:
  ConnectionId id_;
  UserId user_;
  Stream stream_;
  std::optional<ContextId> context_;
  Outbox outbox_;
  std::function<void(bool closing)> on_ready_;
  std::chrono::steady_clock::time_point write_started_{};
  std::optional<DisconnectReason> close_reason_;
};

}  // namespace herald::hub
