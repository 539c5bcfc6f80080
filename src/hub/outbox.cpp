#include "hub/outbox.h"

namespace herald::hub {

bool Outbox::Push(QueuedFrame frame) {
  const std::size_t size = frame.frame->size();
  if (this->size() + 1 > limits_.max_frames || bytes_ + size > limits_.max_bytes) return false;
  bytes_ += size;
  Account(static_cast<std::int64_t>(size));
  frames_.push_back(std::move(frame));
  return true;
}

void Outbox::TakeFront(std::size_t max_frames, std::vector<QueuedFrame>& out) {
  out.clear();
  std::size_t taken = 0;
  while (head_ < frames_.size() && out.size() < max_frames) {
    taken += frames_[head_].frame->size();
    out.push_back(std::move(frames_[head_]));
    ++head_;
  }
  bytes_ -= taken;
  Account(-static_cast<std::int64_t>(taken));
  if (head_ == frames_.size()) {
    std::vector<QueuedFrame>().swap(frames_);
    head_ = 0;
  } else if (head_ >= frames_.size() - head_) {
    // Drop the taken prefix once it outweighs what is still queued: a subscriber that keeps up
    // but is never quite empty must not grow the vector without bound. Amortised O(1) a frame.
    frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

std::size_t Outbox::Clear() {
  const std::size_t released = bytes_;
  std::vector<QueuedFrame>().swap(frames_);
  head_ = 0;
  bytes_ = 0;
  Account(-static_cast<std::int64_t>(released));
  return released;
}

}  // namespace herald::hub
