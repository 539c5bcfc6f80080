#include "hub/hub.h"

#include <algorithm>
#include <boost/asio/post.hpp>

namespace herald::hub {

Hub::Hub(HubOptions options, store::EventStore& store, Metrics& metrics, const Clock& clock)
    : options_(options),
      store_(store),
      metrics_(metrics),
      clock_(clock),
      shards_(options.threads, metrics),
      limiter_(options.max_connections_per_user),
      relay_([&]() -> std::unique_ptr<Relay> {
        auto log = store.OpenLogListener();
        if (!log) return nullptr;
        return std::make_unique<Relay>(std::move(log), shards_, metrics, options.relay, clock_);
      }()),
      publisher_(store, relay_ ? static_cast<DeliverySink&>(*relay_) : shards_, limiter_, metrics,
                 options.publisher, clock_),
      cluster_([&]() -> std::unique_ptr<ClusterPresence> {
        auto registry = store.JoinCluster();
        if (!registry) return nullptr;
        return std::make_unique<ClusterPresence>(std::move(registry), limiter_, store_pool_,
                                                 metrics, options.max_connections_per_user,
                                                 options.cluster_lease);
      }()),
      store_pool_(options.store_read_threads),
      metrics_history_(std::max<std::size_t>(1, options.metrics_history_samples)) {}

Hub::~Hub() {
  Stop();
  shards_.Destroy();
}

void Hub::Start() {
  shards_.Start();
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    Shard& shard = shards_[i];
    const auto period = std::max(std::chrono::milliseconds(100), options_.write_stall_limit / 4);
    boost::asio::post(shard.io_context(), [this, &shard, period] {
      shard.StartWriteWatchdog(period, options_.write_stall_limit, clock_);
    });
  }
  // The baseline now, so the first sample covers the first interval.
  metrics_history_.Record(clock_.Now(), metrics_.Totals());
  boost::asio::post(shards_[0].io_context(), [this] {
    sampler_ = std::make_unique<boost::asio::steady_timer>(shards_[0].io_context());
    ArmSampler();
  });
  if (relay_) relay_->Start();
  if (cluster_) cluster_->Start();
  publisher_.Start();
}

void Hub::ArmSampler() {
  sampler_->expires_after(options_.metrics_sample_interval);
  sampler_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    metrics_history_.Record(clock_.Now(), metrics_.Totals());
    ArmSampler();
  });
}

Result<store::ContextsView> Hub::ReadView(const UserId& user,
                                          const std::optional<store::ContextQuery>& contexts) {
  if (contexts) return store_.ReadContexts(user, *contexts);
  auto range = store_.Range(user);
  if (!range) return range.error();
  store::ContextsView view;
  view.range = *range;
  return Result<store::ContextsView>(std::move(view));
}

Result<store::ReplayPage> Hub::ReadAfter(const UserId& user, std::uint64_t after_sequence,
                                         const store::ReplayFilter& filter, std::size_t limit) {
  return store_.ReadAfter(user, after_sequence, filter, limit);
}

bool Hub::StoreAnswers() { return store_.Range(UserId("health-probe")).has_value(); }

void Hub::DisconnectUser(const UserId& user, DisconnectReason reason) {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    Shard& shard = shards_[i];
    boost::asio::post(shard.io_context(), [&shard, user, reason] {
      shard.registry().ForEachOf(user, [reason](Subscriber& s) { s.Close(reason); });
    });
  }
}

void Hub::DisconnectAll(DisconnectReason reason) {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    Shard& shard = shards_[i];
    boost::asio::post(shard.io_context(), [&shard, reason] {
      shard.registry().ForEach([reason](Subscriber& s) { s.Close(reason); });
    });
  }
}

void Hub::Stop() {
  if (stopped_) return;
  stopped_ = true;
  publisher_.Drain();
  if (relay_) relay_->Stop();
  if (cluster_) cluster_->Stop();
  shards_.Stop();
  shards_.Join();
  sampler_.reset();  // no shard thread runs now; its io_context still exists
  store_pool_.join();
}

}  // namespace herald::hub
