// CORS on the wire (`--cors-origin`, issue 13): off by default; for an allowed origin a preflight
// answers 204 with what Herald accepts, and every answer — publishes, errors and the SSE stream
// head — carries the origin and credentials; other origins get no CORS header.
#include <gtest/gtest.h>

#include "http/loopback_support.h"

namespace herald::testing {
namespace {

constexpr char kApp[] = "https://app.example";

TestHubOptions AllowOrigins(std::vector<std::string> origins) {
  TestHubOptions options;
  options.http.cors_origins = std::move(origins);
  return options;
}

Headers With(Headers headers, const std::string& origin) {
  headers.emplace_back("Origin", origin);
  return headers;
}

void ExpectCorsFor(const HttpReply& reply, const std::string& origin) {
  EXPECT_EQ(reply.Header("access-control-allow-origin"), origin);
  EXPECT_EQ(reply.Header("access-control-allow-credentials"), "true");
  EXPECT_EQ(reply.Header("access-control-expose-headers"),
            "Retry-After, WWW-Authenticate, X-Request-Id");
  EXPECT_EQ(reply.Header("vary"), "Origin");
}

void ExpectNoCors(const HttpReply& reply) {
  EXPECT_EQ(reply.raw_head.find("Access-Control-"), std::string::npos) << reply.raw_head;
}

HttpReply Preflight(unsigned short port, const std::string& origin) {
  return Request(port, "OPTIONS", kAguiWebhook,
                 {{"Origin", origin},
                  {"Access-Control-Request-Method", "POST"},
                  {"Access-Control-Request-Headers", "authorization, content-type"}});
}

TEST(CorsLoopbackTest, OffByDefaultNoHeaderAndPreflightsAnswer405) {
  TestHub hub;
  ExpectNoCors(Request(hub.port(), "GET", "/health", {{"Origin", kApp}}));
  const HttpReply preflight = Preflight(hub.port(), kApp);
  EXPECT_EQ(preflight.status, 405);
  ExpectNoCors(preflight);
}

TEST(CorsLoopbackTest, PreflightFromAnAllowedOriginAnswers204WithWhatHeraldAccepts) {
  TestHub hub(AllowOrigins({kApp}));
  const HttpReply preflight = Preflight(hub.port(), kApp);
  EXPECT_EQ(preflight.status, 204);
  ExpectCorsFor(preflight, kApp);
  EXPECT_EQ(preflight.Header("access-control-allow-methods"), "GET, POST, PUT, DELETE, OPTIONS");
  EXPECT_EQ(preflight.Header("access-control-allow-headers"),
            "Authorization, Content-Type, Idempotency-Key, Last-Event-ID");
  EXPECT_EQ(preflight.Header("access-control-max-age"), "600");
  EXPECT_TRUE(preflight.body.empty());
}

TEST(CorsLoopbackTest, AnswersToAnAllowedOriginCarryItSuccessesAndErrorsAlike) {
  TestHub hub(AllowOrigins({"https://other.example", kApp}));
  const HttpReply published =
      Request(hub.port(), "POST", kAguiWebhook, With(JsonAuthAs("alice"), kApp),
              AguiText("alice", "m", "hi"));
  EXPECT_EQ(published.status, 200) << published.body;
  ExpectCorsFor(published, kApp);
  const HttpReply refused =
      Request(hub.port(), "POST", kAguiWebhook, {{"Origin", kApp}}, AguiText("alice", "m", "hi"));
  EXPECT_EQ(refused.status, 401);
  ExpectCorsFor(refused, kApp);
  EXPECT_EQ(refused.Header("www-authenticate"), "Bearer");
}

TEST(CorsLoopbackTest, StreamHeadCarriesTheCorsHeadersForAnAllowedOrigin) {
  TestHub hub(AllowOrigins({kApp}));
  Headers headers = With(AuthAs("alice"), kApp);
  headers.emplace_back("X-Request-Id", "cors-stream");
  SseStream stream(hub.port(), kAguiStream, headers);
  EXPECT_EQ(stream.status(), 200);
  EXPECT_EQ(stream.head().raw_head,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/event-stream\r\n"
            "Cache-Control: no-cache\r\n"
            "X-Accel-Buffering: no\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Access-Control-Allow-Origin: https://app.example\r\n"
            "Access-Control-Allow-Credentials: true\r\n"
            "Access-Control-Expose-Headers: Retry-After, WWW-Authenticate, X-Request-Id\r\n"
            "Vary: Origin\r\n"
            "X-Request-Id: cors-stream\r\n"
            "\r\n");
  const auto frames = stream.WaitFrames(1);
  ASSERT_GE(frames.size(), 1u);
  EXPECT_TRUE(IsOpening(frames[0])) << frames[0];
}

TEST(CorsLoopbackTest, OtherOriginsGetNoCorsHeaderAndNoPreflight) {
  TestHub hub(AllowOrigins({kApp}));
  for (const char* origin : {"https://evil.example", "https://app.example.evil", "null"}) {
    SCOPED_TRACE(origin);
    ExpectNoCors(Request(hub.port(), "GET", "/health", {{"Origin", origin}}));
    const HttpReply preflight = Preflight(hub.port(), origin);
    EXPECT_EQ(preflight.status, 405);
    ExpectNoCors(preflight);
    SseStream stream(hub.port(), kAguiStream, With(AuthAs("alice"), origin));
    EXPECT_EQ(stream.head().raw_head.find("Access-Control-"), std::string::npos);
  }
}

TEST(CorsLoopbackTest, WildcardEchoesTheRequestOriginNeverAStar) {
  TestHub hub(AllowOrigins({"*"}));
  const HttpReply reply =
      Request(hub.port(), "GET", "/health", {{"Origin", "https://any.example"}});
  ExpectCorsFor(reply, "https://any.example");
  ExpectNoCors(Request(hub.port(), "GET", "/health"));  // no Origin: not a cross-origin call
}

}  // namespace
}  // namespace herald::testing
