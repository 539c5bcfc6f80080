#include "hub/cluster_presence.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <stdexcept>

namespace herald::hub {

ClusterPresence::ClusterPresence(std::unique_ptr<store::NodeRegistry> registry,
                                 const ConnectionLimiter& limiter,
                                 boost::asio::thread_pool& store_pool, Metrics& metrics,
                                 std::size_t cap, std::chrono::seconds lease)
    : registry_(std::move(registry)),
      limiter_(limiter),
      store_pool_(store_pool),
      metrics_(metrics),
      cap_(cap),
      lease_(lease) {}

ClusterPresence::~ClusterPresence() { Stop(); }

void ClusterPresence::Start() {
  auto first = registry_->Heartbeat(lease_, limiter_.Snapshot(), true);
  if (!first.has_value()) throw std::runtime_error(first.error().message);
  spdlog::info("cluster node {} joined ({} live)", registry_->node(), first->size());
  thread_ = std::thread([this] { Run(); });
}

void ClusterPresence::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    registry_->Leave();
  }
}

std::optional<ClusterPresence::Slot> ClusterPresence::Admit(const UserId& user, Stream stream) {
  auto admitted = registry_->Admit(user, stream, cap_);
  if (!admitted.has_value()) {
    // The database is away: this node's own cap still holds; the next heartbeat that reaches
    // it rewrites the counts, this stream included.
    spdlog::warn("cluster cap not checked: {}", admitted.error().message);
    rewrite_.store(true);
    return Slot{};
  }
  if (!*admitted) return std::nullopt;
  return Slot{this, user, stream};
}

void ClusterPresence::Release(const UserId& user, Stream stream) {
  boost::asio::post(store_pool_, [this, user, stream] {
    auto released = registry_->Release(user, stream);
    if (!released.has_value()) {
      spdlog::warn("cluster slot not released: {}", released.error().message);
      rewrite_.store(true);
    }
  });
}

bool ClusterPresence::Beat() {
  const bool rewrite = rewrite_.exchange(false);
  auto nodes = registry_->Heartbeat(lease_, limiter_.Snapshot(), rewrite);
  if (!nodes.has_value()) {
    if (rewrite) rewrite_.store(true);
    spdlog::warn("cluster heartbeat failed: {}", nodes.error().message);
    return false;
  }
  std::vector<std::pair<std::string, std::uint64_t>> streams;
  for (const auto& node : *nodes) streams.emplace_back(node.node, node.streams);
  metrics_.ClusterNodes(std::move(streams));
  return true;
}

void ClusterPresence::Run() {
  const auto period =
      std::max<std::chrono::milliseconds>(lease_ / 6, std::chrono::milliseconds(200));
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, period, [this] { return stopping_; })) return;
    }
    Beat();
  }
}

}  // namespace herald::hub
