// A subscriber's bounded queue of frames waiting to be written (spec §6, slow consumers).
//
// Thread rule: owning shard only. Frames are shared, so the bound counts each frame's full size
// against this subscriber even though the bytes exist once per shard. An empty outbox holds no
// heap memory: an idle connection should cost as little as possible.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/event.h"

namespace herald::hub {

// The default frame bound holds a whole batch publish (http::kMaxBatchItems events, checked in
// app/serve.cpp): a batch is queued to each outbox at once, so a smaller bound would close a
// subscriber that reads as fast as it can.
struct OutboxLimits {
  std::size_t max_frames = 16'384;
  std::size_t max_bytes = 4 * 1024 * 1024;
};

struct QueuedFrame {
  std::uint64_t sequence = 0;  // the event's per-user sequence; 0 for non-event frames
  Frame frame;
};

class Outbox {
 public:
  // `shard_bytes`, when given, is the owning shard's running total of queued bytes (a metric);
  // only the owning shard writes it.
  explicit Outbox(OutboxLimits limits, std::atomic<std::int64_t>* shard_bytes = nullptr)
      : limits_(limits), shard_bytes_(shard_bytes) {}
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;
  ~Outbox() { Clear(); }

  // Queues a frame. Returns false, leaving the queue unchanged, when the frame would take the
  // queue past either bound: the subscriber is too slow and must be closed.
  bool Push(QueuedFrame frame);

  // Moves up to `max_frames` frames from the front into `out` (cleared first).
  void TakeFront(std::size_t max_frames, std::vector<QueuedFrame>& out);

  bool empty() const { return head_ == frames_.size(); }
  std::size_t size() const { return frames_.size() - head_; }
  std::size_t bytes() const { return bytes_; }

  // Drops everything; returns the bytes released.
  std::size_t Clear();

 private:
  void Account(std::int64_t delta) {
    if (shard_bytes_ != nullptr) shard_bytes_->fetch_add(delta, std::memory_order_relaxed);
  }

  OutboxLimits limits_;
  std::atomic<std::int64_t>* shard_bytes_;
  std::vector<QueuedFrame> frames_;  // [head_, end) are queued
  std::size_t head_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace herald::hub
