// A user only ever receives their own events (spec intro, §3.2): many users, several
// connections each, across shards.
#include <gtest/gtest.h>

#include <memory>

#include "http/loopback_support.h"

namespace herald::testing {
namespace {

constexpr int kUsers = 20;
constexpr int kEventsPerUser = 3;

std::string UserName(int u) { return "user" + std::to_string(u); }

// The delta of a TEXT_MESSAGE_CONTENT frame ("" when the frame has none).
std::string DeltaOf(const std::string& frame) {
  const std::string key = "\"delta\":\"";
  const auto start = frame.find(key);
  if (start == std::string::npos) return "";
  const auto end = frame.find('"', start + key.size());
  return frame.substr(start + key.size(), end - start - key.size());
}

TEST(IsolationLoopbackTest, EveryConnectionReceivesExactlyItsOwnUsersEvents) {
  TestHubOptions options;
  options.hub.threads = 2;  // connections spread over both shards
  TestHub hub(options);

  struct Subscription {
    int user;
    std::string path;
    std::unique_ptr<SseStream> stream;
  };
  std::vector<Subscription> subscriptions;
  for (int u = 0; u < kUsers; ++u) {
    for (const char* path : {kAguiStream, kAguiStream, kContextsStream}) {
      subscriptions.push_back(
          {u, path, std::make_unique<SseStream>(hub.port(), path, AuthAs(UserName(u)))});
      ASSERT_EQ(subscriptions.back().stream->status(), 200);
    }
  }
  for (auto& s : subscriptions) {
    if (s.path == kContextsStream) {
      ASSERT_TRUE(s.stream->WaitFrameContaining("CONTEXTS_SNAPSHOT"));
    }
  }

  // Round-robin over users, then one last "fence" event per user: once a connection has its
  // fence, every event published before it has been routed.
  HttpClient publisher(hub.port());
  for (int round = 0; round <= kEventsPerUser; ++round) {
    for (int u = 0; u < kUsers; ++u) {
      const std::string delta = round == kEventsPerUser ? UserName(u) + "-fence"
                                                        : UserName(u) + "-" + std::to_string(round);
      const HttpReply reply = publisher.Request("POST", kAguiWebhook, JsonAuthAs(UserName(u)),
                                                AguiText(UserName(u), "m-" + UserName(u), delta));
      ASSERT_EQ(reply.status, 200) << reply.body;
      EXPECT_NE(reply.body.find(R"("connection_count":3,)"), std::string::npos) << reply.body;
    }
  }

  for (auto& s : subscriptions) {
    SCOPED_TRACE(UserName(s.user) + " " + s.path);
    const std::string fence = UserName(s.user) + "-fence";
    ASSERT_TRUE(s.stream->WaitFrameContaining("\"delta\":\"" + fence + "\""));
    std::vector<std::string> deltas;
    for (const std::string& frame : SplitFrames(s.stream->body())) {
      if (IsOpening(frame) || frame.find("CONTEXTS_SNAPSHOT") != std::string::npos) continue;
      deltas.push_back(DeltaOf(frame));
    }
    std::vector<std::string> expected;
    for (int round = 0; round < kEventsPerUser; ++round) {
      expected.push_back(UserName(s.user) + "-" + std::to_string(round));
    }
    expected.push_back(fence);
    EXPECT_EQ(deltas, expected);
  }
}

}  // namespace
}  // namespace herald::testing
