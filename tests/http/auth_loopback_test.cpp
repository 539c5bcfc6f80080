// Authentication and authorization on the wire (spec §1.5, §2): token sources, bad tokens, the
// user-id check on publish.
#include <gtest/gtest.h>

#include "auth/base64url.h"
#include "auth/minter.h"
#include "http/loopback_support.h"
#include "support/manual_clock.h"

namespace herald::testing {
namespace {

// Checks the shape of a 401: status, challenge, JSON error body.
void ExpectUnauthorized(const HttpReply& reply) {
  EXPECT_EQ(reply.status, 401) << reply.body;
  EXPECT_EQ(reply.Header("www-authenticate"), "Bearer");
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_EQ(reply.body.rfind(R"({"code":"unauthorized","message":")", 0), 0u) << reply.body;
  EXPECT_NE(reply.body.find(R"(,"timestamp":")"), std::string::npos) << reply.body;
}

// A stream request that must fail: the reply, read to its Content-Length.
HttpReply OpenStream(unsigned short port, const std::string& target, const Headers& headers) {
  SseStream stream(port, target, headers, std::chrono::seconds(5));
  return stream.head();
}

std::string ForgedToken(const std::string& sub) {
  return auth::MintHs256("not-the-hub-secret", sub, "", std::chrono::hours(1),
                         std::chrono::system_clock::now());
}

std::string ExpiredToken(const std::string& sub, std::chrono::seconds ago) {
  // exp = now - ago (the token lived for one minute).
  return auth::MintHs256(kTestSecret, sub, "", std::chrono::seconds(60),
                         std::chrono::system_clock::now() - ago - std::chrono::seconds(60));
}

std::string UnsignedToken(const std::string& sub) {
  const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count() +
                   3600;
  return auth::EncodeBase64Url(R"({"alg":"none","typ":"JWT"})") + "." +
         auth::EncodeBase64Url(R"({"sub":")" + sub + R"(","exp":)" + std::to_string(exp) + "}") +
         ".";
}

TEST(AuthLoopbackTest, MissingOrInvalidTokensAnswer401WithBearerChallenge) {
  TestHub hub;
  const std::vector<std::pair<std::string, Headers>> cases = {
      {"no token", {}},
      {"forged signature", {{"Authorization", "Bearer " + ForgedToken("alice")}}},
      {"expired", {{"Authorization", "Bearer " + ExpiredToken("alice", std::chrono::minutes(5))}}},
      {"alg none", {{"Authorization", "Bearer " + UnsignedToken("alice")}}},
      {"garbage", {{"Authorization", "Bearer not.a.jwt"}}},
      {"empty bearer", {{"Authorization", "Bearer "}}},
      {"basic scheme", {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}}},
      // Another scheme is refused even when a valid cookie is there too.
      {"basic scheme with cookie",
       {{"Authorization", "Basic YWxpY2U6c2VjcmV0"},
        {"Cookie", "access_token=" + TestHub::Token("alice")}}},
      {"cookie of another name", {{"Cookie", "token=" + TestHub::Token("alice")}}},
  };
  for (const auto& [name, headers] : cases) {
    SCOPED_TRACE(name);
    for (const char* path : {kAguiStream, kA2aStream, kContextsStream}) {
      SCOPED_TRACE(path);
      ExpectUnauthorized(OpenStream(hub.port(), path, headers));
    }
    Headers publish_headers = headers;
    publish_headers.emplace_back("Content-Type", "application/json");
    ExpectUnauthorized(
        Request(hub.port(), "POST", kAguiWebhook, publish_headers, AguiText("alice", "m1", "x")));
  }
  // Nothing was admitted or stored.
  EXPECT_TRUE(hub.WaitForOpenStreams(0));
  const HttpReply first = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "first"));
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(EventIdOf(first).substr(EventIdOf(first).find('-')), "-1");
}

TEST(AuthLoopbackTest, TokenWithinTheLeewayAfterExpiryIsStillAccepted) {
  TestHub hub;
  const Headers headers = {
      {"Authorization", "Bearer " + ExpiredToken("alice", std::chrono::seconds(5))},
      {"Content-Type", "application/json"}};
  const HttpReply reply =
      Request(hub.port(), "POST", kAguiWebhook, headers, AguiText("alice", "m1", "x"));
  EXPECT_EQ(reply.status, 200) << reply.body;
}

// The hub's clock decides expiry, also for a token its cache remembers from the first request.
TEST(AuthLoopbackTest, ATokenThatWasValidIsRefusedOnceTheClockPassesItsExpiryAndLeeway) {
  // Whole seconds, as the token's "exp" is.
  ManualClock clock(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  TestHubOptions options;
  options.clock = &clock;
  TestHub hub(options);
  const std::string token = TestHub::Token("alice", "", std::chrono::seconds(60), clock.Now());
  const Headers headers = {{"Authorization", "Bearer " + token},
                           {"Content-Type", "application/json"}};
  const auto publish = [&hub, &headers] {
    return Request(hub.port(), "POST", kAguiWebhook, headers, AguiText("alice", "m1", "x"));
  };
  ASSERT_EQ(publish().status, 200);
  clock.Advance(std::chrono::seconds(60 + 29));
  EXPECT_EQ(publish().status, 200) << "within the 30 s leeway after exp";
  clock.Advance(std::chrono::seconds(1));
  ExpectUnauthorized(publish());
  ExpectUnauthorized(OpenStream(hub.port(), kAguiStream, headers));
  EXPECT_NE(publish().body.find("expired"), std::string::npos);
}

TEST(AuthLoopbackTest, AccessTokenCookieWorksForStreamsAndPublish) {
  TestHub hub;
  const std::string cookie = "theme=dark; access_token=" + TestHub::Token("alice") + "; lang=en";
  SseStream agui(hub.port(), kAguiStream, {{"Cookie", cookie}});
  ASSERT_EQ(agui.status(), 200);
  SseStream contexts(hub.port(), kContextsStream, {{"Cookie", cookie}});
  ASSERT_EQ(contexts.status(), 200);
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));

  const HttpReply reply = Request(hub.port(), "POST", kAguiWebhook,
                                  {{"Cookie", cookie}, {"Content-Type", "application/json"}},
                                  AguiText("alice", "m1", "via cookie", "1"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, BroadcastedBody(2, EventIdOf(reply)));
  const auto frames = agui.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], "id: " + EventIdOf(reply) +
                           "\ndata: " + AguiTextJson("m1", "via cookie", "1") + "\n\n");
}

TEST(AuthLoopbackTest, QueryTokenIsRefusedByDefault) {
  TestHub hub;
  const std::string query = "?access_token=" + TestHub::Token("alice");
  ExpectUnauthorized(OpenStream(hub.port(), std::string(kAguiStream) + query, {}));
  ExpectUnauthorized(Request(hub.port(), "POST", std::string(kAguiWebhook) + query,
                             {{"Content-Type", "application/json"}}, AguiText("alice", "m1", "x")));
}

TEST(AuthLoopbackTest, QueryTokenIsAcceptedWhenEnabled) {
  TestHubOptions options;
  options.http.allow_query_token = true;
  TestHub hub(options);
  const std::string query = "?access_token=" + TestHub::Token("alice");
  SseStream agui(hub.port(), std::string(kAguiStream) + query, {});
  ASSERT_EQ(agui.status(), 200);
  const HttpReply reply =
      Request(hub.port(), "POST", std::string(kAguiWebhook) + query,
              {{"Content-Type", "application/json"}}, AguiText("alice", "m1", "via query", "2"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto frames = agui.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1],
            "id: " + EventIdOf(reply) + "\ndata: " + AguiTextJson("m1", "via query", "2") + "\n\n");
  // A bad query token is still a 401.
  ExpectUnauthorized(OpenStream(
      hub.port(), std::string(kAguiStream) + "?access_token=" + ForgedToken("alice"), {}));
}

TEST(AuthLoopbackTest, PublishingForAnotherUserNeedsThePublishScope) {
  TestHub hub;
  const std::string caller = "caller-7f3a";
  const std::string victim = "victim-91c2";
  SseStream victims(hub.port(), kAguiStream, AuthAs(victim));
  ASSERT_EQ(victims.WaitFrames(1).size(), 1u);

  // Without the scope (an unrelated scope does not help).
  for (const std::string scope : {"", "admin", "events:read"}) {
    SCOPED_TRACE(scope);
    const HttpReply denied = Request(hub.port(), "POST", kAguiWebhook, JsonAuthAs(caller, scope),
                                     AguiText(victim, "m1", "spoofed"));
    EXPECT_EQ(denied.status, 403);
    EXPECT_EQ(denied.Header("content-type"), "application/json");
    EXPECT_EQ(denied.body.rfind(R"({"code":"forbidden","message":"User ID mismatch)", 0), 0u)
        << denied.body;
    EXPECT_EQ(denied.body.find(caller), std::string::npos) << denied.body;
    EXPECT_EQ(denied.body.find(victim), std::string::npos) << denied.body;
  }

  // With it.
  const HttpReply allowed =
      Request(hub.port(), "POST", kAguiWebhook, JsonAuthAs(caller, "admin events:publish"),
              AguiText(victim, "m1", "on behalf", "3"));
  ASSERT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_EQ(allowed.body, BroadcastedBody(1, EventIdOf(allowed)));
  const auto frames = victims.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u) << "the denied publishes were not delivered";
  EXPECT_EQ(frames[1], "id: " + EventIdOf(allowed) +
                           "\ndata: " + AguiTextJson("m1", "on behalf", "3") + "\n\n");
}

}  // namespace
}  // namespace herald::testing
