// Resume on the wire (spec §4): Last-Event-ID / ?last_event_id= replay exactly what was missed,
// in order, then go live; ids the hub cannot honour give a reset (agui/a2a) or a snapshot
// (contexts); a malformed id is treated as absent.
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "http/store_loopback_support.h"

namespace herald::testing {
namespace {

// How one stream is published to and what its frames carry.
struct StreamCase {
  const char* name;
  const char* stream;
  bool a2a;      // publish A2A events (else AG-UI)
  bool wrapped;  // frames carry {"protocol":…,"event":…}
};

std::string A2aBody(const std::string& user, const std::string& task) {
  return R"({"user_id":")" + user + R"(","type":"TASK_STATUS_UPDATE","taskId":")" + task +
         R"(","contextId":"c1","state":"TASK_STATE_WORKING","timestamp":"2026-01-02T03:04:05Z"})";
}

std::string A2aJson(const std::string& task) {
  return R"({"type":"TASK_STATUS_UPDATE","taskId":")" + task +
         R"(","contextId":"c1","state":"TASK_STATE_WORKING","timestamp":"2026-01-02T03:04:05Z"})";
}

// Publishes event `n` of a case and returns its id; `expected` gets the frame payload.
std::string PublishCase(HttpClient& client, const StreamCase& c, int n, std::string& expected) {
  const std::string tag = "e" + std::to_string(n);
  HttpReply reply;
  if (c.a2a) {
    reply = client.Request("POST", kA2aWebhook, JsonAuthAs("alice"), A2aBody("alice", tag));
    expected = A2aJson(tag);
  } else {
    reply = client.Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                           AguiText("alice", "m1", tag, "1700000000000"));
    expected = AguiTextJson("m1", tag, "1700000000000");
  }
  EXPECT_EQ(reply.status, 200) << reply.body;
  if (c.wrapped) {
    expected = std::string(R"({"protocol":")") + (c.a2a ? "a2a" : "agui") + R"(","event":)" +
               expected + "}";
  }
  return EventIdOf(reply);
}

class ResumeLoopbackTest : public ::testing::TestWithParam<std::tuple<StreamCase, bool>> {};

TEST_P(ResumeLoopbackTest, ReconnectGetsExactlyTheMissedEventsInOrderThenLive) {
  const auto& [c, via_query] = GetParam();
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));
  HttpClient client(hub.port());
  std::string expected;

  std::string last_id;
  {
    SseStream first(hub.port(), c.stream, AuthAs("alice"));
    ASSERT_EQ(first.status(), 200);
    // A snapshot covers what was stored before it: publish only once it was sent.
    if (c.wrapped) {
      ASSERT_TRUE(first.WaitFrameContaining("CONTEXTS_SNAPSHOT"));
    }
    for (int i = 0; i < 5; ++i) last_id = PublishCase(client, c, i, expected);
    // It saw them live (and, on contexts, after its snapshot).
    const auto frame = first.WaitFrameContaining("\"e4\"");
    ASSERT_TRUE(frame);
    EXPECT_EQ(FrameField(*frame, "id"), last_id);
  }
  ASSERT_TRUE(hub.WaitForOpenStreams(0));

  std::vector<std::string> missed_ids, missed_payloads;
  for (int i = 5; i < 12; ++i) {
    missed_ids.push_back(PublishCase(client, c, i, expected));
    missed_payloads.push_back(expected);
  }

  const std::string target =
      via_query ? std::string(c.stream) + "?last_event_id=" + last_id : std::string(c.stream);
  const Headers headers = via_query ? AuthAs("alice") : WithLastEventId(AuthAs("alice"), last_id);
  SseStream resumed(hub.port(), target, headers);
  ASSERT_EQ(resumed.status(), 200);
  ASSERT_GE(resumed.WaitFrames(1).size(), 1u);
  FrameReader reader(resumed);
  ASSERT_EQ(reader.Next(10s), kPreamble) << resumed.body();
  const auto frames = TakeFrames(reader, missed_ids.size());
  ASSERT_EQ(frames.size(), missed_ids.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i], "id: " + missed_ids[i] + "\ndata: " + missed_payloads[i] + "\n\n") << i;
  }

  // Live continues right after the replay: the next frame is the new event, nothing between.
  const std::string live_id = PublishCase(client, c, 99, expected);
  const auto live = reader.Next(10s);
  ASSERT_TRUE(live);
  EXPECT_EQ(*live, "id: " + live_id + "\ndata: " + expected + "\n\n");
  EXPECT_EQ(SequenceOf(live_id), SequenceOf(missed_ids.back()) + 1);
}

INSTANTIATE_TEST_SUITE_P(
    Streams, ResumeLoopbackTest,
    ::testing::Combine(::testing::Values(StreamCase{"agui", kAguiStream, false, false},
                                         StreamCase{"a2a", kA2aStream, true, false},
                                         StreamCase{"contexts", kContextsStream, false, true},
                                         StreamCase{"contexts_a2a", kContextsStream, true, true}),
                       ::testing::Bool()),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) +
             (std::get<1>(info.param) ? "_Query" : "_Header");
    });

// A subscriber that disconnects and resumes several times while a publisher never pauses ends
// up with every sequence exactly once.
TEST(ResumeUnderLoadLoopbackTest, UnionOfReceivedIdsIsExactlyOneToNWithoutDuplicates) {
  constexpr int kEvents = 2'000;
  ScratchDir dir;
  TestHub hub(SqliteHub(dir));

  std::vector<std::uint64_t> received;
  std::string last_id;
  auto stream = std::make_unique<SseStream>(hub.port(), kAguiStream, AuthAs("alice"));
  ASSERT_EQ(stream->status(), 200);
  ASSERT_EQ(stream->WaitFrames(1).size(), 1u);
  ASSERT_FALSE(OpeningCursor(stream->body()).empty()) << stream->body();

  std::atomic<int> acknowledged{0};
  std::jthread publisher([&hub, &acknowledged] {
    HttpClient client(hub.port());
    for (int i = 0; i < kEvents; ++i) {
      const HttpReply reply = client.Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                                             AguiText("alice", "m1", "n-" + std::to_string(i)));
      if (reply.status != 200) {
        ADD_FAILURE() << reply.status << " " << reply.body;
        return;
      }
      acknowledged.fetch_add(1);
    }
  });

  // Three connections take a slice each; the last reads to the end.
  for (int round = 0; round < 4; ++round) {
    FrameReader reader(*stream);
    const auto opening = reader.Next(10s);
    ASSERT_TRUE(opening && IsOpening(*opening)) << stream->body();
    const std::size_t want = round < 3 ? 300 : static_cast<std::size_t>(kEvents);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::size_t taken = 0;
    while (taken < want && (received.empty() || received.back() < kEvents) &&
           std::chrono::steady_clock::now() < deadline) {
      const auto frame = reader.Next(10s);
      if (!frame) break;
      const std::string id = FrameField(*frame, "id");
      ASSERT_FALSE(id.empty()) << *frame;
      received.push_back(SequenceOf(id));
      last_id = id;
      ++taken;
    }
    if (round == 3) break;
    stream.reset();
    ASSERT_FALSE(last_id.empty());
    stream = std::make_unique<SseStream>(hub.port(), kAguiStream,
                                         WithLastEventId(AuthAs("alice"), last_id));
    ASSERT_EQ(stream->status(), 200);
    ASSERT_GE(stream->WaitFrames(1).size(), 1u);
    ASSERT_EQ(stream->body().rfind(kPreamble, 0), 0u) << "a resume, not a fresh stream";
  }
  publisher.join();
  EXPECT_EQ(acknowledged.load(), kEvents);

  ASSERT_EQ(received.size(), static_cast<std::size_t>(kEvents));
  for (std::size_t i = 0; i < received.size(); ++i) {
    ASSERT_EQ(received[i], i + 1) << "at " << i;  // in order, no gap, no duplicate
  }
}

// The first frames after the preamble for a cursor the hub cannot honour.
class ResumeEdgeLoopbackTest : public ::testing::Test {
 protected:
  ResumeEdgeLoopbackTest() : hub_(Options(dir_)) {}

  static TestHubOptions Options(const ScratchDir& dir) {
    TestHubOptions options = SqliteHub(dir);
    options.hub.publisher.retention.max_events_per_user = 5;
    options.hub.publisher.prune_interval = 10ms;
    return options;
  }

  // Publishes 20 events for alice and waits (bounded) until only the newest 5 are retained.
  void PublishAndPrune() {
    HttpClient client(hub_.port());
    for (int i = 0; i < 20; ++i) {
      const HttpReply reply = client.Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                                             AguiText("alice", "m1", "n" + std::to_string(i)));
      ASSERT_EQ(reply.status, 200) << reply.body;
      last_id_ = EventIdOf(reply);
    }
    ASSERT_TRUE(WaitUntil([this] {
      const auto range = hub_.store().Range(UserId("alice"));
      return range.has_value() && range->first == 16 && range->last == 20;
    }));
  }

  std::string Id(std::uint64_t sequence) {
    return FormatEventId(EventId{hub_.store().History(), sequence});
  }
  TestHub& hub() { return hub_; }

  // The frames of a stream opened with `cursor` as Last-Event-ID: preamble plus `count` more.
  std::vector<std::string> FirstFrames(const char* stream, const std::string& cursor,
                                       std::size_t count, bool via_query = false) {
    const std::string target =
        via_query ? std::string(stream) + "?last_event_id=" + cursor : std::string(stream);
    SseStream s(hub_.port(), target,
                via_query ? AuthAs("alice") : WithLastEventId(AuthAs("alice"), cursor));
    EXPECT_EQ(s.status(), 200);
    return s.WaitFrames(count + 1);
  }

  static std::string Reset(const std::string& id, const std::string& reason) {
    return "id: " + id + "\nevent: reset\ndata: {\"type\":\"STREAM_RESET\",\"reason\":\"" + reason +
           "\"}\n\n";
  }

  void ExpectSnapshot(const std::string& frame, const std::string& id) {
    EXPECT_EQ(
        frame.rfind("id: " + id +
                        "\ndata: {\"protocol\":\"system\",\"event\":{\"type\":"
                        "\"CONTEXTS_SNAPSHOT\",\"contexts\":[],\"total\":0,\"truncated\":false,"
                        "\"timestamp\":\"",
                    0),
        0u)
        << frame;
  }

  ScratchDir dir_;
  TestHub hub_;
  std::string last_id_;
};

TEST_F(ResumeEdgeLoopbackTest, TooOldIdGivesExpiredResetOrSnapshot) {
  PublishAndPrune();
  for (const char* stream : {kAguiStream, kA2aStream}) {
    const auto frames = FirstFrames(stream, Id(3), 1);
    ASSERT_EQ(frames.size(), 2u) << stream;
    EXPECT_EQ(frames[0], kPreamble);
    EXPECT_EQ(frames[1], Reset(Id(20), "expired")) << stream;
  }
  const auto frames = FirstFrames(kContextsStream, Id(3), 1);
  ASSERT_EQ(frames.size(), 2u);
  ExpectSnapshot(frames[1], Id(20));
  // The oldest retained boundary still replays: after 15 come 16..20.
  const auto replay = FirstFrames(kAguiStream, Id(15), 5, true);
  ASSERT_EQ(replay.size(), 6u);
  for (std::size_t i = 1; i < replay.size(); ++i) {
    EXPECT_EQ(FrameField(replay[i], "id"), Id(15 + i));
  }
}

TEST_F(ResumeEdgeLoopbackTest, ForeignHistoryGivesUnknownHistoryResetOrSnapshot) {
  PublishAndPrune();
  const std::string foreign = FormatEventId(EventId{hub().store().History() ^ 0x1u, 19});
  for (const char* stream : {kAguiStream, kA2aStream}) {
    for (bool query : {false, true}) {
      const auto frames = FirstFrames(stream, foreign, 1, query);
      ASSERT_EQ(frames.size(), 2u);
      EXPECT_EQ(frames[1], Reset(Id(20), "unknown_history")) << stream;
    }
  }
  const auto frames = FirstFrames(kContextsStream, foreign, 1);
  ASSERT_EQ(frames.size(), 2u);
  ExpectSnapshot(frames[1], Id(20));
}

TEST_F(ResumeEdgeLoopbackTest, FutureIdGivesFutureIdResetOrSnapshot) {
  PublishAndPrune();
  for (const char* stream : {kAguiStream, kA2aStream}) {
    const auto frames = FirstFrames(stream, Id(21), 1);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1], Reset(Id(20), "future_id")) << stream;
  }
  const auto frames = FirstFrames(kContextsStream, Id(1000), 1);
  ASSERT_EQ(frames.size(), 2u);
  ExpectSnapshot(frames[1], Id(20));
}

TEST_F(ResumeEdgeLoopbackTest, ResetOnAnEmptyHistoryCarriesThePositionBeforeTheFirstEvent) {
  const auto frames = FirstFrames(kAguiStream, Id(7), 1);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], Reset(Id(0), "future_id"));
}

// "<history>-0" is the cursor of a stream opened before the user's first event: it replays from
// the first event, unless events after it were pruned.
TEST_F(ResumeEdgeLoopbackTest, CursorBeforeTheFirstEventReplaysEverythingOrResetsAfterPruning) {
  const HttpReply first = PublishAgui(hub().port(), "bob", AguiText("bob", "m1", "first"));
  ASSERT_EQ(first.status, 200);
  SseStream bob(hub().port(), kAguiStream, WithLastEventId(AuthAs("bob"), Id(0)));
  const auto replayed = bob.WaitFrames(2);
  ASSERT_EQ(replayed.size(), 2u);
  EXPECT_EQ(replayed[0], kPreamble) << "a resume, not a fresh stream";
  EXPECT_EQ(FrameField(replayed[1], "id"), EventIdOf(first));

  PublishAndPrune();
  const auto frames = FirstFrames(kAguiStream, Id(0), 1);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], Reset(Id(20), "expired"));
}

TEST_F(ResumeEdgeLoopbackTest, MalformedIdIsTreatedAsAbsent) {
  PublishAndPrune();
  std::string position = last_id_;  // the user's newest event
  for (const std::string& cursor :
       std::vector<std::string>{"garbage", "undefined", "", "null", Id(20) + "x",
                                Id(20).substr(0, 9) + "00", Id(20).substr(0, 9) + "020"}) {
    for (bool query : {false, true}) {
      SCOPED_TRACE(cursor + (query ? " (query)" : " (header)"));
      const std::string target =
          query ? std::string(kAguiStream) + "?last_event_id=" + cursor : std::string(kAguiStream);
      SseStream agui(hub().port(), target,
                     query ? AuthAs("alice") : WithLastEventId(AuthAs("alice"), cursor));
      ASSERT_EQ(agui.status(), 200);
      ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
      const HttpReply reply = PublishAgui(hub().port(), "alice", AguiText("alice", "m1", "live"));
      ASSERT_EQ(reply.status, 200);
      // No reset and no replay: a fresh stream's opening, then the live event.
      const auto frames = agui.WaitFrames(2);
      ASSERT_EQ(frames.size(), 2u);
      EXPECT_EQ(OpeningCursor(frames[0]), position) << "the user's newest event at the open";
      position = EventIdOf(reply);
      EXPECT_EQ(FrameField(frames[1], "id"), EventIdOf(reply));
      EXPECT_EQ(FrameField(frames[1], "event"), "");

      const std::string contexts_target =
          query ? std::string(kContextsStream) + "?last_event_id=" + cursor
                : std::string(kContextsStream);
      SseStream contexts(hub().port(), contexts_target,
                         query ? AuthAs("alice") : WithLastEventId(AuthAs("alice"), cursor));
      ASSERT_EQ(contexts.status(), 200);
      const auto snapshot = contexts.WaitFrames(2);
      ASSERT_EQ(snapshot.size(), 2u);
      ExpectSnapshot(snapshot[1], EventIdOf(reply));
    }
  }
}

// Publishes ~1 KiB events for alice until `slow` (which stopped reading) is evicted.
void PublishUntilEvicted(TestHub& hub, SseStream& slow) {
  slow.connection().ShrinkReceiveBuffer();
  HttpClient client(hub.port());
  const std::string padding(1000, 'x');
  const auto evicted = [&hub] {
    return hub.metrics().Disconnects(hub::DisconnectReason::kSlowConsumer) >= 1;
  };
  for (int i = 0; i < 4'000 && !evicted(); ++i) {
    ASSERT_EQ(client
                  .Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                           AguiText("alice", "m1", std::to_string(i) + padding))
                  .status,
              200);
  }
  ASSERT_TRUE(WaitUntil(evicted));
}

TestHubOptions SmallOutboxHub(const ScratchDir& dir, std::chrono::milliseconds grace) {
  TestHubOptions options = SqliteHub(dir);
  options.hub.outbox.max_frames = 64;
  options.hub.outbox.max_bytes = 64 * 1024;
  options.http.eviction_grace = grace;
  return options;
}

// An evicted consumer's frames wait in the kernel for `eviction_grace`; one that never reads
// again is then reset, so the kernel lets go of them. The user's slot is free at once.
TEST(EvictionResumeLoopbackTest, AnEvictedPeerThatNeverReadsIsResetAfterTheGrace) {
  ScratchDir dir;
  TestHubOptions options = SmallOutboxHub(dir, std::chrono::milliseconds(300));
  options.hub.max_connections_per_user = 1;
  TestHub hub(options);
  SseStream slow(hub.port(), kAguiStream, AuthAs("alice"),
                 SocketOptions{.receive_buffer = 4096, .max_segment = 1024});
  ASSERT_EQ(slow.WaitFrames(1).size(), 1u);
  PublishUntilEvicted(hub, slow);

  // The only slot of the user is free during the grace: a reconnect is admitted.
  SseStream again(hub.port(), kAguiStream, AuthAs("alice"));
  EXPECT_EQ(again.status(), 200) << again.body();
  EXPECT_NE(slow.connection().TcpState(), TCP_CLOSE) << "not reset before the grace";
  EXPECT_TRUE(WaitUntil([&] { return slow.connection().TcpState() == TCP_CLOSE; }))
      << "reset after the grace: state " << slow.connection().TcpState();
}

// A session still waiting out an eviction's grace when the hub stops is destroyed with its
// shard, while the connection limiter it gives its lease back to still exists.
TEST(EvictionResumeLoopbackTest, TheHubStopsCleanlyWhileAnEvictedStreamWaitsOutItsGrace) {
  ScratchDir dir;
  auto hub = std::make_unique<TestHub>(SmallOutboxHub(dir, std::chrono::minutes(10)));
  SseStream slow(hub->port(), kAguiStream, AuthAs("alice"),
                 SocketOptions{.receive_buffer = 4096, .max_segment = 1024});
  ASSERT_EQ(slow.WaitFrames(1).size(), 1u);
  PublishUntilEvicted(*hub, slow);
  const auto started = std::chrono::steady_clock::now();
  hub.reset();  // the session is suspended for minutes: its frame goes with the shard
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30))
      << "not the grace";
  EXPECT_TRUE(slow.WaitEof(std::chrono::seconds(10))) << "its socket was closed";
}

// A consumer closed for falling behind resumes from the last frame it fully received and
// loses nothing.
TEST(EvictionResumeLoopbackTest, SlowConsumerClosedThenResumedGetsEveryRemainingEventInOrder) {
  ScratchDir dir;
  TestHubOptions options = SqliteHub(dir);
  options.hub.outbox.max_frames = 64;
  options.hub.outbox.max_bytes = 64 * 1024;
  TestHub hub(options);

  SseStream slow(hub.port(), kAguiStream, AuthAs("alice"),
                 SocketOptions{.receive_buffer = 4096, .max_segment = 1024});
  ASSERT_EQ(slow.status(), 200);
  HttpClient client(hub.port());
  const HttpReply first =
      client.Request("POST", kAguiWebhook, JsonAuthAs("alice"), AguiText("alice", "m1", "n-0-x"));
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(slow.WaitFrames(2).size(), 2u);  // it has read event 1 fully
  slow.connection().ShrinkReceiveBuffer();

  const std::string padding(1000, 'x');
  long published = 1;
  const auto closed = [&hub] {
    return hub.metrics().Disconnects(hub::DisconnectReason::kSlowConsumer) >= 1;
  };
  while (published < 4'000 && (published < 500 || !closed())) {
    const HttpReply reply =
        client.Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                       AguiText("alice", "m1", "n-" + std::to_string(published) + "-" + padding));
    ASSERT_EQ(reply.status, 200) << reply.body;
    ++published;
  }
  ASSERT_TRUE(WaitUntil(closed)) << "published " << published;

  // What the slow one still gets: complete frames up to some id, then EOF.
  std::string last_id = FrameField(SplitFrames(slow.body()).back(), "id");
  {
    FrameReader reader(slow);  // from the opening: last_id ends at the last frame it got
    for (long i = 0; i <= published; ++i) {
      const auto frame = reader.Next(10s);
      if (!frame) break;
      last_id = FrameField(*frame, "id");
    }
    EXPECT_TRUE(slow.connection().eof());
    // Whole chunks of whole frames, then an end without the last chunk: no frame cut in two.
    EXPECT_TRUE(slow.EndedWithoutLastChunk());
    EXPECT_TRUE(slow.body().ends_with("\n\n"));
  }
  const std::uint64_t last = SequenceOf(last_id);
  ASSERT_GE(last, 1u);
  ASSERT_LT(last, static_cast<std::uint64_t>(published));

  SseStream resumed(hub.port(), kAguiStream, WithLastEventId(AuthAs("alice"), last_id));
  ASSERT_EQ(resumed.status(), 200);
  ASSERT_GE(resumed.WaitFrames(1).size(), 1u);
  FrameReader reader(resumed);
  ASSERT_EQ(reader.Next(10s), kPreamble) << resumed.body();
  const auto frames = TakeFrames(reader, static_cast<std::size_t>(published) - last, 30s);
  ASSERT_EQ(frames.size(), static_cast<std::size_t>(published) - last);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const std::uint64_t sequence = last + 1 + i;
    ASSERT_EQ(SequenceOf(FrameField(frames[i], "id")), sequence) << i;
    ASSERT_NE(frames[i].find("\"delta\":\"n-" + std::to_string(sequence - 1) + "-"),
              std::string::npos)
        << i;
  }
}

}  // namespace
}  // namespace herald::testing
