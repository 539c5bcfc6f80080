#include "hub/outbox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace herald::hub {
namespace {

Frame MakeFrame(std::size_t size, char fill = 'x') {
  return std::make_shared<const std::string>(size, fill);
}

QueuedFrame Queued(std::uint64_t sequence, std::size_t size) {
  return QueuedFrame{sequence, MakeFrame(size)};
}

std::vector<std::uint64_t> Sequences(const std::vector<QueuedFrame>& frames) {
  std::vector<std::uint64_t> out;
  for (const QueuedFrame& f : frames) out.push_back(f.sequence);
  return out;
}

// The header promises that an emptied outbox holds no heap memory, which only the private
// vector's capacity shows. An explicit instantiation may name a private member (C++20
// [temp.spec.general]/6), which lets this test read `frames_` without a hook in the class.
template <auto Member>
struct PrivateAccess {
  friend auto FramesMember(Outbox*) { return Member; }
};
auto FramesMember(Outbox*);
template struct PrivateAccess<&Outbox::frames_>;

std::size_t VectorCapacity(Outbox& outbox) { return (outbox.*FramesMember(nullptr)).capacity(); }

TEST(OutboxTest, PushWithinBoundsQueuesFramesAndCountsBytes) {
  Outbox outbox({.max_frames = 3, .max_bytes = 100});
  EXPECT_TRUE(outbox.empty());
  EXPECT_TRUE(outbox.Push(Queued(1, 10)));
  EXPECT_TRUE(outbox.Push(Queued(2, 20)));
  EXPECT_TRUE(outbox.Push(Queued(3, 30)));
  EXPECT_FALSE(outbox.empty());
  EXPECT_EQ(outbox.size(), 3u);
  EXPECT_EQ(outbox.bytes(), 60u);
}

struct RefusalCase {
  const char* name;
  OutboxLimits limits;
  std::vector<std::size_t> accepted;  // frame sizes pushed first, all accepted
  std::size_t refused;                // the size of the frame that is then refused
};

class OutboxRefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(OutboxRefusalTest, PushRefusedLeavesQueueUnchanged) {
  const RefusalCase& c = GetParam();
  std::atomic<std::int64_t> shard_bytes{0};
  Outbox outbox(c.limits, &shard_bytes);
  std::size_t total = 0;
  for (std::size_t i = 0; i < c.accepted.size(); ++i) {
    ASSERT_TRUE(outbox.Push(Queued(i + 1, c.accepted[i]))) << "frame " << i;
    total += c.accepted[i];
  }

  EXPECT_FALSE(outbox.Push(Queued(99, c.refused)));

  EXPECT_EQ(outbox.size(), c.accepted.size());
  EXPECT_EQ(outbox.bytes(), total);
  EXPECT_EQ(shard_bytes.load(), static_cast<std::int64_t>(total));
  std::vector<QueuedFrame> out;
  outbox.TakeFront(1000, out);
  std::vector<std::uint64_t> expected;
  for (std::size_t i = 0; i < c.accepted.size(); ++i) expected.push_back(i + 1);
  EXPECT_EQ(Sequences(out), expected);
}

INSTANTIATE_TEST_SUITE_P(
    Bounds, OutboxRefusalTest,
    ::testing::Values(
        RefusalCase{"AtMaxFrames", {.max_frames = 2, .max_bytes = 1000}, {10, 10}, 1},
        RefusalCase{"OneFrameMax", {.max_frames = 1, .max_bytes = 1000}, {1}, 1},
        RefusalCase{"OverMaxBytes", {.max_frames = 10, .max_bytes = 25}, {10, 10}, 6},
        RefusalCase{"FullToTheByte", {.max_frames = 10, .max_bytes = 25}, {10, 15}, 1},
        RefusalCase{"SingleFrameLargerThanMaxBytes", {.max_frames = 10, .max_bytes = 25}, {}, 26}),
    [](const ::testing::TestParamInfo<RefusalCase>& info) { return info.param.name; });

TEST(OutboxTest, PushAcceptsAFrameThatFillsTheBytesBoundExactly) {
  Outbox outbox({.max_frames = 10, .max_bytes = 25});
  EXPECT_TRUE(outbox.Push(Queued(1, 10)));
  EXPECT_TRUE(outbox.Push(Queued(2, 15)));
  EXPECT_EQ(outbox.bytes(), 25u);
}

TEST(OutboxTest, TakeFrontReturnsFramesInOrderUpToMax) {
  Outbox outbox({.max_frames = 10, .max_bytes = 1000});
  for (std::uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(outbox.Push(Queued(s, s * 10)));

  std::vector<QueuedFrame> out;
  outbox.TakeFront(2, out);
  EXPECT_EQ(Sequences(out), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(outbox.size(), 3u);
  EXPECT_EQ(outbox.bytes(), 30u + 40u + 50u);

  outbox.TakeFront(10, out);
  EXPECT_EQ(Sequences(out), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_TRUE(outbox.empty());
  EXPECT_EQ(outbox.bytes(), 0u);
}

TEST(OutboxTest, TakeFrontClearsTheOutputFirst) {
  Outbox outbox({});
  ASSERT_TRUE(outbox.Push(Queued(7, 1)));
  std::vector<QueuedFrame> out{Queued(100, 1), Queued(101, 1)};
  outbox.TakeFront(5, out);
  EXPECT_EQ(Sequences(out), (std::vector<std::uint64_t>{7}));

  outbox.TakeFront(5, out);  // nothing queued
  EXPECT_TRUE(out.empty());
}

TEST(OutboxTest, TakeFrontOfZeroTakesNothing) {
  Outbox outbox({});
  ASSERT_TRUE(outbox.Push(Queued(1, 4)));
  std::vector<QueuedFrame> out;
  outbox.TakeFront(0, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox.bytes(), 4u);
}

TEST(OutboxTest, TakenFramesAreTheSharedFramesNotCopies) {
  Outbox outbox({});
  const Frame frame = MakeFrame(8);
  ASSERT_TRUE(outbox.Push({1, frame}));
  std::vector<QueuedFrame> out;
  outbox.TakeFront(1, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].frame.get(), frame.get());
}

TEST(OutboxTest, FramesFreedByTakeFrontMakeRoomAgain) {
  Outbox outbox({.max_frames = 2, .max_bytes = 20});
  ASSERT_TRUE(outbox.Push(Queued(1, 10)));
  ASSERT_TRUE(outbox.Push(Queued(2, 10)));
  ASSERT_FALSE(outbox.Push(Queued(3, 10)));
  std::vector<QueuedFrame> out;
  outbox.TakeFront(1, out);
  EXPECT_TRUE(outbox.Push(Queued(3, 10)));
  outbox.TakeFront(10, out);
  EXPECT_EQ(Sequences(out), (std::vector<std::uint64_t>{2, 3}));
}

TEST(OutboxTest, ShardCounterFollowsPushAndTakeFrontBackToZero) {
  std::atomic<std::int64_t> shard_bytes{0};
  Outbox outbox({}, &shard_bytes);
  ASSERT_TRUE(outbox.Push(Queued(1, 10)));
  ASSERT_TRUE(outbox.Push(Queued(2, 20)));
  ASSERT_TRUE(outbox.Push(Queued(3, 30)));
  EXPECT_EQ(shard_bytes.load(), 60);

  std::vector<QueuedFrame> out;
  outbox.TakeFront(2, out);
  EXPECT_EQ(shard_bytes.load(), 30);
  outbox.TakeFront(2, out);
  EXPECT_EQ(shard_bytes.load(), 0);
}

TEST(OutboxTest, ClearReleasesEverythingAndReturnsTheBytes) {
  std::atomic<std::int64_t> shard_bytes{0};
  Outbox outbox({}, &shard_bytes);
  ASSERT_TRUE(outbox.Push(Queued(1, 10)));
  ASSERT_TRUE(outbox.Push(Queued(2, 5)));
  std::vector<QueuedFrame> out;
  outbox.TakeFront(1, out);  // a partly consumed queue

  EXPECT_EQ(outbox.Clear(), 5u);
  EXPECT_TRUE(outbox.empty());
  EXPECT_EQ(outbox.size(), 0u);
  EXPECT_EQ(outbox.bytes(), 0u);
  EXPECT_EQ(shard_bytes.load(), 0);
  EXPECT_EQ(outbox.Clear(), 0u);
  EXPECT_EQ(shard_bytes.load(), 0);
}

TEST(OutboxTest, DestructionReturnsQueuedBytesToTheShardCounter) {
  std::atomic<std::int64_t> shard_bytes{0};
  {
    Outbox a({}, &shard_bytes);
    Outbox b({}, &shard_bytes);
    ASSERT_TRUE(a.Push(Queued(1, 10)));
    ASSERT_TRUE(b.Push(Queued(1, 7)));
    EXPECT_EQ(shard_bytes.load(), 17);
  }
  EXPECT_EQ(shard_bytes.load(), 0);
}

TEST(OutboxTest, ClearDropsItsReferencesToTheFrames) {
  Outbox outbox({});
  const Frame frame = MakeFrame(3);
  ASSERT_TRUE(outbox.Push({1, frame}));
  ASSERT_TRUE(outbox.Push({2, frame}));
  EXPECT_EQ(frame.use_count(), 3);
  outbox.Clear();
  EXPECT_EQ(frame.use_count(), 1);
}

TEST(OutboxTest, EmptiedOutboxHoldsNoHeapMemory) {
  Outbox outbox({});
  EXPECT_EQ(VectorCapacity(outbox), 0u);

  for (std::uint64_t s = 1; s <= 100; ++s) ASSERT_TRUE(outbox.Push(Queued(s, 1)));
  EXPECT_GE(VectorCapacity(outbox), 100u);
  std::vector<QueuedFrame> out;
  outbox.TakeFront(60, out);
  EXPECT_GT(VectorCapacity(outbox), 0u);  // still holding the remaining 40
  outbox.TakeFront(60, out);
  EXPECT_EQ(VectorCapacity(outbox), 0u) << "emptied by TakeFront";

  for (std::uint64_t s = 1; s <= 10; ++s) ASSERT_TRUE(outbox.Push(Queued(s, 1)));
  outbox.Clear();
  EXPECT_EQ(VectorCapacity(outbox), 0u) << "emptied by Clear";
}

TEST(OutboxTest, AnOutboxThatIsNeverQuiteEmptiedStaysBoundedInMemory) {
  // A session that keeps up but always leaves a frame behind (it takes at most N frames per
  // write while new ones arrive) must not make the queue's storage grow with every frame taken.
  Outbox outbox({.max_frames = 8, .max_bytes = 1 << 20});
  ASSERT_TRUE(outbox.Push(Queued(0, 1)));
  std::vector<QueuedFrame> out;
  std::size_t peak_capacity = 0;
  for (std::uint64_t s = 1; s <= 10'000; ++s) {
    ASSERT_TRUE(outbox.Push(Queued(s, 1)));
    outbox.TakeFront(1, out);  // one frame always stays queued
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].sequence, s - 1);
    peak_capacity = std::max(peak_capacity, VectorCapacity(outbox));
  }
  EXPECT_EQ(outbox.size(), 1u);
  EXPECT_LE(peak_capacity, 4 * std::size_t{8});
}

TEST(OutboxTest, OrderIsKeptWhileTheQueueIsNeverEmpty) {
  Outbox outbox({.max_frames = 4, .max_bytes = 1 << 20});
  std::uint64_t pushed = 0;
  std::uint64_t expected = 1;
  std::vector<QueuedFrame> out;
  for (int round = 0; round < 1000; ++round) {
    while (outbox.size() < 4) ASSERT_TRUE(outbox.Push(Queued(++pushed, 1)));
    outbox.TakeFront(1 + round % 3, out);  // leaves 1 to 3 frames behind
    for (const QueuedFrame& f : out) EXPECT_EQ(f.sequence, expected++);
  }
  EXPECT_EQ(outbox.bytes(), outbox.size());
}

}  // namespace
}  // namespace herald::hub
