#include "core/sse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace herald::sse {
namespace {

TEST(SseTest, DataFrameCarriesIdThenOneDataLineThenBlankLine) {
  EXPECT_EQ(DataFrame("0000000a-3", R"({"type":"X"})"),
            "id: 0000000a-3\ndata: {\"type\":\"X\"}\n\n");
}

TEST(SseTest, DataFrameWithEmptyIdClearsTheClientsLastEventId) {
  EXPECT_EQ(DataFrame("", "{}"), "id: \ndata: {}\n\n");
}

TEST(SseTest, WrapEventNamesTheProtocol) {
  EXPECT_EQ(WrapEvent(Protocol::kAgui, R"({"type":"RUN_STARTED"})"),
            R"({"protocol":"agui","event":{"type":"RUN_STARTED"}})");
  EXPECT_EQ(WrapEvent(Protocol::kA2a, "{}"), R"({"protocol":"a2a","event":{}})");
  EXPECT_EQ(WrapEvent(Protocol::kSystem, "{}"), R"({"protocol":"system","event":{}})");
}

TEST(SseTest, EventFrameIsTheDataFrameOfTheEventOrOfItsWrapping) {
  std::string frames = "before\n";
  AppendEventFrame(frames, EventId{10, 3}, Protocol::kAgui, R"({"type":"X"})", false);
  AppendEventFrame(frames, EventId{10, 4}, Protocol::kA2a, "{}", true);
  EXPECT_EQ(frames, "before\n" + DataFrame("0000000a-3", R"({"type":"X"})") +
                        DataFrame("0000000a-4", WrapEvent(Protocol::kA2a, "{}")));
}

TEST(SseTest, EventFrameOverheadCoversTheLongestIdAndEnvelope) {
  std::string frame;
  AppendEventFrame(frame, EventId{0xffffffffU, UINT64_MAX}, Protocol::kSystem, "{}", true);
  EXPECT_EQ(frame, R"(id: ffffffff-18446744073709551615)"
                   "\ndata: "
                   R"({"protocol":"system","event":{}})"
                   "\n\n");
  EXPECT_LE(frame.size(), 2 + kEventFrameOverhead);
}

TEST(SseTest, PreambleSetsRetryAndSendsAComment) {
  EXPECT_EQ(Preamble(std::chrono::milliseconds(2000), "ok"), "retry: 2000\n:ok\n\n");
}

TEST(SseTest, ConnectedPreambleIsOneBlockWithTheCursorAndANamedConnectedEvent) {
  EXPECT_EQ(ConnectedPreamble(std::chrono::milliseconds(2000), "ok", "0000000a-0", 17),
            "retry: 2000\n:ok\nid: 0000000a-0\nevent: connected\n"
            "data: {\"type\":\"CONNECTED\",\"connectionId\":\"17\"}\n\n");
}

TEST(SseTest, PositionPreambleSetsTheCursorWithoutAnyEvent) {
  EXPECT_EQ(PositionPreamble(std::chrono::milliseconds(2000), "ok", "0000000a-0"),
            "retry: 2000\n:ok\nid: 0000000a-0\n\n");
}

TEST(SseTest, ResetFrameCarriesTheCurrentIdAndAStreamResetPayload) {
  EXPECT_EQ(ResetFrame("0000000a-7", "expired"),
            "id: 0000000a-7\nevent: reset\ndata: {\"type\":\"STREAM_RESET\",\"reason\":\"expired\"}"
            "\n\n");
}

TEST(SseTest, ResetReasonIsJsonEscaped) {
  EXPECT_EQ(ResetFrame("", "a\"b"),
            "id: \nevent: reset\ndata: {\"type\":\"STREAM_RESET\",\"reason\":\"a\\\"b\"}\n\n");
}

TEST(SseTest, HeartbeatFramesMatchWhatExistingClientsExpect) {
  EXPECT_EQ(kHeartbeatEvent, "event: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n");
  EXPECT_EQ(kHeartbeatComment, ":heartbeat\n\n");
}

TEST(SseTest, FramesUseLineFeedsOnly) {
  for (const std::string& frame :
       {DataFrame("1", "{}"), Preamble(std::chrono::milliseconds(1), "x"),
        ConnectedPreamble(std::chrono::milliseconds(1), "x", "1", 1),
        PositionPreamble(std::chrono::milliseconds(1), "x", "1"), ResetFrame("1", "r"),
        RetryFrame(std::chrono::milliseconds(5)), NamedFrame("auth_expiring", "{}")}) {
    EXPECT_EQ(frame.find('\r'), std::string::npos) << frame;
    EXPECT_TRUE(frame.ends_with("\n\n")) << frame;
  }
}

}  // namespace
}  // namespace herald::sse
