// A shard's delivery batches reach its subscribers in the order they were handed over, from
// whichever thread: the writer thread, or an I/O thread that committed in place on the shard's own
// thread while the writer committed the next group.
#include "hub/shard.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace herald::hub {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const DeliveryBatch> BatchOf(std::uint64_t sequence) {
  DeliveryItem item;
  item.user = UserId("alice");
  item.protocol = Protocol::kAgui;
  item.sequence = sequence;
  item.bare = std::make_shared<const std::string>("event " + std::to_string(sequence));
  item.wrapped = item.bare;
  return std::make_shared<const DeliveryBatch>(DeliveryBatch{item});
}

// Runs `fn` on the shard's thread and waits for it (bounded).
template <class Fn>
void OnShard(Shard& shard, Fn fn) {
  std::promise<void> done;
  boost::asio::post(shard.io_context(), [&] {
    fn();
    done.set_value();
  });
  ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
}

// The frames alice's stream on a fresh shard has queued after `hand_over` ran on the shard's
// thread.
std::vector<std::string> FramesAfterHandingOverOnTheShard(
    const std::function<void(Shard&)>& hand_over) {
  Metrics metrics;
  Shard shard(0, metrics);
  shard.Start();
  Subscriber subscriber(ConnectionId(1), UserId("alice"), Stream::kAgui, std::nullopt, {}, nullptr,
                        [](bool) {});
  std::unique_ptr<Registration> registration;
  OnShard(shard,
          [&] { registration = std::make_unique<Registration>(shard.registry(), subscriber); });
  OnShard(shard, [&] { hand_over(shard); });
  // The dispatch may still be queued behind this thread's next post (a handler's own posts join
  // the queue when it returns): look again, within a bound, until two frames are there.
  std::vector<std::string> frames;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (int look = 0;
       look < 10'000 && frames.size() < 2 && std::chrono::steady_clock::now() < deadline; ++look) {
    OnShard(shard, [&] {
      std::vector<QueuedFrame> queued;
      subscriber.outbox().TakeFront(10, queued);
      for (const QueuedFrame& f : queued) frames.push_back(*f.frame);
    });
  }
  OnShard(shard, [&] { registration.reset(); });
  shard.Stop();
  shard.Join();
  return frames;
}

TEST(ShardTest, ABatchPostedOnTheShardsOwnThreadReachesSubscribersBeforeOnePostedLaterElsewhere) {
  // A commit in place: event 1 handed over on the shard's thread; before that handler returns,
  // the writer thread commits event 2 and hands it over.
  const auto frames = FramesAfterHandingOverOnTheShard([](Shard& shard) {
    shard.Post(BatchOf(1));
    std::thread writer([&] { shard.Post(BatchOf(2)); });
    writer.join();
  });
  EXPECT_EQ(frames, (std::vector<std::string>{"event 1", "event 2"}));
}

TEST(ShardTest, ABatchPostedElsewhereReachesSubscribersBeforeOnePostedLaterOnTheShardsOwnThread) {
  // Another shard's I/O thread commits event 1 in place and hands it over; then this shard's
  // thread, busy meanwhile, commits event 2 in place.
  const auto frames = FramesAfterHandingOverOnTheShard([](Shard& shard) {
    std::thread other_io_thread([&] { shard.Post(BatchOf(1)); });
    other_io_thread.join();
    shard.Post(BatchOf(2));
  });
  EXPECT_EQ(frames, (std::vector<std::string>{"event 1", "event 2"}));
}

}  // namespace
}  // namespace herald::hub
