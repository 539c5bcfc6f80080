// Retention on the real server (spec §4): the writer thread prunes by count and by age in the
// background; sequences keep increasing after a prune. Age is the hub's clock's: the tests move a
// ManualClock instead of waiting.
#include <gtest/gtest.h>

#include "http/store_loopback_support.h"
#include "support/manual_clock.h"

namespace herald::testing {
namespace {

TEST(RetentionLoopbackTest, KeepsTheNewestNEventsPerUser) {
  ScratchDir dir;
  TestHubOptions options = SqliteHub(dir);
  options.hub.publisher.retention.max_events_per_user = 10;
  options.hub.publisher.prune_interval = 10ms;
  TestHub hub(options);
  HttpClient client(hub.port());
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(client
                  .Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                           AguiText("alice", "m1", "n" + std::to_string(i)))
                  .status,
              200);
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(
        client.Request("POST", kAguiWebhook, JsonAuthAs("bob"), AguiText("bob", "m1", "b")).status,
        200);
  }
  ASSERT_TRUE(WaitUntil([&hub] {
    const auto range = hub.store().Range(UserId("alice"));
    return range.has_value() && range->first == 21;
  }));
  EXPECT_EQ(hub.store().Range(UserId("alice"))->last, 30u);
  const auto kept = ReadAllStored(hub.store(), "alice");
  ASSERT_EQ(kept.size(), 10u);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i].id.sequence, 21 + i);
    EXPECT_NE(kept[i].json.find("\"delta\":\"n" + std::to_string(20 + i) + "\""),
              std::string::npos);
  }
  // Bob, under the limit, keeps everything.
  EXPECT_EQ(ReadAllStored(hub.store(), "bob").size(), 4u);

  const HttpReply next =
      client.Request("POST", kAguiWebhook, JsonAuthAs("alice"), AguiText("alice", "m1", "next"));
  EXPECT_EQ(SequenceOf(EventIdOf(next)), 31u);
}

// A hub on SQLite that keeps events ten minutes by `clock`, pruning every 10 ms of real time.
TestHubOptions TenMinuteRetention(const ScratchDir& dir, const ManualClock& clock) {
  TestHubOptions options = SqliteHub(dir);
  options.hub.publisher.retention.max_age = std::chrono::minutes(10);
  options.hub.publisher.prune_interval = 10ms;
  options.clock = &clock;
  return options;
}

TEST(RetentionLoopbackTest, DropsEventsOlderThanTheMaximumAge) {
  ScratchDir dir;
  ManualClock clock;
  TestHub hub(TenMinuteRetention(dir, clock));
  HttpClient client(hub.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(client
                  .Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                           AguiText("alice", "m1", "n" + std::to_string(i)))
                  .status,
              200);
  }
  clock.Advance(std::chrono::minutes(10) + std::chrono::seconds(1));
  // Everything ages out; the range remembers the last sequence.
  ASSERT_TRUE(WaitUntil([&hub] {
    const auto range = hub.store().Range(UserId("alice"));
    return range.has_value() && range->first == 6 && range->last == 5;
  }));
  EXPECT_TRUE(ReadAllStored(hub.store(), "alice").empty());

  // A resume from before the prune is told so; new events keep counting up.
  const std::string old_id = FormatEventId(EventId{hub.store().History(), 2});
  SseStream agui(hub.port(), kAguiStream, WithLastEventId(AuthAs("alice"), old_id));
  const auto frames = agui.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], "id: " + FormatEventId(EventId{hub.store().History(), 5}) +
                           "\nevent: reset\ndata: {\"type\":\"STREAM_RESET\",\"reason\":"
                           "\"expired\"}\n\n");
  const HttpReply next =
      client.Request("POST", kAguiWebhook, JsonAuthAs("alice"), AguiText("alice", "m1", "next"));
  EXPECT_EQ(SequenceOf(EventIdOf(next)), 6u);
  const auto live = agui.WaitFrames(3);
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(FrameField(live[2], "id"), EventIdOf(next));
}

TEST(RetentionLoopbackTest, KeepsEventsYoungerThanTheMaximumAgeThroughAPrunePass) {
  ScratchDir dir;
  ManualClock clock;
  TestHub hub(TenMinuteRetention(dir, clock));
  HttpClient client(hub.port());
  const auto publish = [&client](const std::string& delta) {
    return client.Request("POST", kAguiWebhook, JsonAuthAs("alice"), AguiText("alice", "m1", delta))
        .status;
  };
  ASSERT_EQ(publish("old"), 200);
  clock.Advance(std::chrono::minutes(9));
  // The writer prunes after the group it has just committed: once the second publish has been
  // answered, a pass at 9 minutes has run after the first.
  ASSERT_EQ(publish("young"), 200);
  ASSERT_EQ(publish("younger"), 200);
  EXPECT_EQ(ReadAllStored(hub.store(), "alice").size(), 3u);

  clock.Advance(std::chrono::minutes(2));
  ASSERT_TRUE(WaitUntil([&hub] {
    const auto range = hub.store().Range(UserId("alice"));
    return range.has_value() && range->first == 2;
  })) << "only the event older than ten minutes goes";
  EXPECT_EQ(ReadAllStored(hub.store(), "alice").size(), 2u);
}

}  // namespace
}  // namespace herald::testing
