// Connection limits on the wire (spec §6): the per-user cap per stream, and slow consumers that
// are closed without delaying anyone else or growing the hub's memory.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "core/event_id.h"
#include "http/loopback_support.h"
#include "support/manual_clock.h"

namespace herald::testing {
namespace {

constexpr std::size_t kCap = 10;

void ExpectRateLimited(const HttpReply& reply) {
  EXPECT_EQ(reply.status, 429) << reply.body;
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_EQ(reply.body.rfind(R"({"code":"rate_limited","message":")", 0), 0u) << reply.body;
  const std::string retry_after = reply.Header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GE(std::stoi(retry_after), 1);
}

TEST(LimitsLoopbackTest, EleventhConnectionOfAUserOnAStreamGets429AndAClosedOneFreesItsSlot) {
  TestHub hub;
  std::vector<std::unique_ptr<SseStream>> alice;
  for (std::size_t i = 0; i < kCap; ++i) {
    alice.push_back(std::make_unique<SseStream>(hub.port(), kAguiStream, AuthAs("alice")));
    ASSERT_EQ(alice.back()->status(), 200) << i;
  }
  {
    SseStream eleventh(hub.port(), kAguiStream, AuthAs("alice"));
    ExpectRateLimited(eleventh.head());
  }
  // Other users and the same user's other streams have their own caps.
  SseStream bob(hub.port(), kAguiStream, AuthAs("bob"));
  EXPECT_EQ(bob.status(), 200);
  SseStream alice_a2a(hub.port(), kA2aStream, AuthAs("alice"));
  EXPECT_EQ(alice_a2a.status(), 200);
  SseStream alice_contexts(hub.port(), kContextsStream, AuthAs("alice"));
  EXPECT_EQ(alice_contexts.status(), 200);
  // The refused request opened nothing, and every admitted one is live.
  ASSERT_TRUE(hub.WaitForOpenStreams(static_cast<std::int64_t>(kCap) + 3));
  const HttpReply counted = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "x"));
  EXPECT_EQ(counted.body, BroadcastedBody(kCap + 1, EventIdOf(counted)));

  // Closing one frees its slot: poll (bounded) until a new connection is admitted.
  alice[3].reset();
  std::unique_ptr<SseStream> replacement;
  int attempts = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        ++attempts;
        auto next = std::make_unique<SseStream>(hub.port(), kAguiStream, AuthAs("alice"));
        if (next->status() == 200) {
          replacement = std::move(next);
          return true;
        }
        EXPECT_EQ(next->status(), 429);
        return attempts >= 500;  // give up (and fail below) rather than loop for long
      },
      std::chrono::seconds(5)));
  ASSERT_TRUE(replacement) << "no slot freed after " << attempts << " attempts";
  // The cap holds again.
  SseStream another(hub.port(), kAguiStream, AuthAs("alice"));
  ExpectRateLimited(another.head());

  const auto rejected =
      ScrapeMetric(hub.port(), R"(herald_connections_rejected_total{stream="agui"})");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(*rejected, static_cast<double>(attempts - 1 + 2));
}

// What a reader thread saw on one stream.
struct Received {
  std::vector<long> numbers;  // the n of each "n-<n>-…" delta, in arrival order
  std::vector<std::uint64_t> sequences;
  bool ended = false;  // the end marker arrived
  bool eof = false;
  std::size_t frames = 0;
};

// Reads frames until the end marker, EOF or the deadline. Thread: one reader per connection.
void ReadEvents(SseStream& stream, const std::string& prefix, Received& out,
                std::chrono::milliseconds timeout) {
  FrameReader reader(stream);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    const auto frame = reader.Next(left);
    if (!frame) {
      out.eof = stream.connection().eof();
      return;
    }
    if (IsOpening(*frame)) continue;
    ++out.frames;
    const std::string id = FrameField(*frame, "id");
    if (const auto parsed = ParseEventId(id)) out.sequences.push_back(parsed->sequence);
    const std::string key = "\"delta\":\"" + prefix + "-";
    const auto start = frame->find(key);
    if (start == std::string::npos) continue;
    const std::string rest = frame->substr(start + key.size());
    if (rest.rfind("end\"", 0) == 0) {
      out.ended = true;
      return;
    }
    out.numbers.push_back(std::stol(rest.substr(0, rest.find('-'))));
  }
}

bool StrictlyIncreasing(const std::vector<std::uint64_t>& values) {
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (values[i] <= values[i - 1]) return false;
  }
  return true;
}

std::vector<long> Iota(long n) {
  std::vector<long> values(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = i;
  return values;
}

TEST(LimitsLoopbackTest, SlowConsumerIsClosedWhileEveryoneElseReceivesEverythingInOrder) {
  TestHubOptions options;
  options.hub.threads = 2;
  options.hub.outbox.max_frames = 64;
  options.hub.outbox.max_bytes = 64 * 1024;
  TestHub hub(options);

  // A small window and MSS from the handshake on: the kernel buffers only KiBs for a reader
  // that stops, so the hub's outbox bound is what gives (not MiBs of socket buffers first).
  SseStream slow(hub.port(), kAguiStream, AuthAs("alice"),
                 SocketOptions{.receive_buffer = 4096, .max_segment = 1024});
  SseStream healthy(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream other(hub.port(), kAguiStream, AuthAs("bob"));
  for (SseStream* s : {&slow, &healthy, &other}) {
    ASSERT_EQ(s->status(), 200);
    ASSERT_EQ(s->WaitFrames(1).size(), 1u);
    ASSERT_TRUE(IsOpening(s->body()));
  }
  slow.connection().ShrinkReceiveBuffer();  // and never read it while publishing

  Received healthy_seen, other_seen;
  std::jthread healthy_reader(ReadEvents, std::ref(healthy), "n", std::ref(healthy_seen),
                              std::chrono::seconds(30));
  std::jthread other_reader(ReadEvents, std::ref(other), "b", std::ref(other_seen),
                            std::chrono::seconds(30));

  // ~1 KiB events until the slow consumer is closed: at least 500, at most 4 000.
  const std::string padding(1000, 'x');
  HttpClient publisher(hub.port());
  long published = 0;
  long bob_published = 0;
  bool publish_failed = false;
  const auto publish = [&](const std::string& user, const std::string& delta) {
    const HttpReply reply =
        publisher.Request("POST", kAguiWebhook, JsonAuthAs(user), AguiText(user, "m1", delta, "1"));
    if (reply.status != 200) {
      ADD_FAILURE() << reply.status << " " << reply.body;
      publish_failed = true;
    }
  };
  const auto closed = [&hub] {
    return hub.metrics().Disconnects(hub::DisconnectReason::kSlowConsumer) >= 1;
  };
  while (!publish_failed && published < 4'000 && (published < 500 || !closed())) {
    for (int i = 0; i < 50 && !publish_failed; ++i) {
      publish("alice", "n-" + std::to_string(published++) + "-" + padding);
      if (published % 10 == 0) publish("bob", "b-" + std::to_string(bob_published++) + "-x");
    }
  }
  publish("alice", "n-end");
  publish("bob", "b-end");
  healthy_reader.join();
  other_reader.join();

  // The slow one was closed as a slow consumer; nobody else was.
  ASSERT_TRUE(WaitUntil([&] {
    return ScrapeMetric(hub.port(), R"(herald_disconnects_total{reason="slow_consumer"})") == 1.0;
  })) << "published "
      << published;
  EXPECT_EQ(hub.metrics().Disconnects(hub::DisconnectReason::kSlowConsumer), 1u);

  // Everyone else got everything, in order.
  EXPECT_TRUE(healthy_seen.ended);
  EXPECT_FALSE(healthy_seen.eof);
  EXPECT_TRUE(healthy_seen.numbers == Iota(published))
      << "healthy got " << healthy_seen.numbers.size() << " of " << published;
  EXPECT_TRUE(StrictlyIncreasing(healthy_seen.sequences));
  EXPECT_TRUE(other_seen.ended);
  EXPECT_TRUE(other_seen.numbers == Iota(bob_published))
      << "other got " << other_seen.numbers.size() << " of " << bob_published;
  EXPECT_TRUE(StrictlyIncreasing(other_seen.sequences));

  // Both still stream.
  EXPECT_TRUE(WaitUntil([&] { return hub.metrics().OpenConnections(Stream::kAgui) == 2; }));
  publish("alice", "n-after");
  publish("bob", "b-after");
  FrameReader healthy_frames(healthy);  // after what its reader thread took
  const auto after = healthy_frames.Next(std::chrono::seconds(10));
  ASSERT_TRUE(after);
  EXPECT_NE(after->find("n-after"), std::string::npos);

  // The slow one: what still reaches it is an in-order prefix without the end, then EOF.
  Received slow_seen;
  ReadEvents(slow, "n", slow_seen, std::chrono::seconds(10));
  EXPECT_TRUE(slow_seen.eof);
  EXPECT_FALSE(slow_seen.ended);
  EXPECT_LT(slow_seen.numbers.size(), static_cast<std::size_t>(published));
  EXPECT_TRUE(slow_seen.numbers == Iota(static_cast<long>(slow_seen.numbers.size())));
  EXPECT_TRUE(StrictlyIncreasing(slow_seen.sequences));

  // The memory bound is released: nothing is left queued.
  EXPECT_TRUE(WaitUntil([&] { return ScrapeMetric(hub.port(), "herald_queued_bytes") == 0.0; }))
      << ScrapeMetric(hub.port(), "herald_queued_bytes").value_or(-1);
}

// The write watchdog decides by the hub's clock: a stream whose socket write has been pending
// (its reader stopped) is closed as a slow consumer once the clock has moved past the stall
// limit, long before its outbox would overflow.
TEST(LimitsLoopbackTest, AStreamWhoseWriteStallsPastTheLimitByTheClockIsClosedAsASlowConsumer) {
  ManualClock clock;
  TestHubOptions options;
  // The watchdog looks every max(100 ms, limit / 4) of real time (2 s here) and the clock
  // decides: the stream is closed within a period of the move, before 8 s of real time could.
  options.hub.write_stall_limit = std::chrono::seconds(8);
  // The closed stream's socket is then held for the grace before it goes: keep that short.
  options.http.eviction_grace = std::chrono::milliseconds(100);
  options.clock = &clock;
  TestHub hub(options);
  SseStream slow(hub.port(), kAguiStream, AuthAs("alice"),
                 SocketOptions{.receive_buffer = 4096, .max_segment = 1024});
  ASSERT_EQ(slow.status(), 200);
  ASSERT_EQ(slow.WaitFrames(1).size(), 1u);
  slow.connection().ShrinkReceiveBuffer();  // and never read it again

  // ~1 MiB of events: far more than the kernel buffers for a reader that stopped, far less than
  // the outbox holds, so the write pends and nothing overflows.
  const std::string padding(1000, 'x');
  HttpClient publisher(hub.port());
  for (int i = 0; i < 1'000; ++i) {
    ASSERT_EQ(publisher
                  .Request("POST", kAguiWebhook, JsonAuthAs("alice"),
                           AguiText("alice", "m1", std::to_string(i) + padding))
                  .status,
              200);
  }
  const auto queued = [&hub] { return hub.metrics().ShardQueuedBytes(0).load(); };
  ASSERT_TRUE(WaitUntil([&] { return queued() > 256 * 1024; })) << queued();
  EXPECT_EQ(hub.metrics().Disconnects(hub::DisconnectReason::kSlowConsumer), 0u);

  clock.Advance(std::chrono::seconds(60));  // well past the limit
  EXPECT_TRUE(WaitUntil(
      [&hub] { return hub.metrics().Disconnects(hub::DisconnectReason::kSlowConsumer) == 1; },
      std::chrono::seconds(5)));
  EXPECT_TRUE(hub.WaitForOpenStreams(0));
  EXPECT_TRUE(WaitUntil([&] { return queued() == 0; })) << queued();
}

}  // namespace
}  // namespace herald::testing
