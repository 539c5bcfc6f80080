// The stream surface on the wire (spec §1, §1.1, §5): response heads, first bytes, the contexts
// snapshot, method and trailing-slash handling.
#include <gtest/gtest.h>

#include <regex>

#include "core/event_id.h"
#include "http/loopback_support.h"

namespace herald::testing {
namespace {

constexpr char kSseHead10[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "X-Request-Id: surface-10\r\n"
    "\r\n";
constexpr char kSseHead[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "Transfer-Encoding: chunked\r\n"
    "X-Request-Id: surface-head\r\n"
    "\r\n";

// data: {"protocol":"system","event":{"type":"CONTEXTS_SNAPSHOT","contexts":[],"total":0,
// "truncated":false,"timestamp":…}}
const std::regex kEmptySnapshot(
    R"re(data: \{"protocol":"system","event":\{"type":"CONTEXTS_SNAPSHOT","contexts":\[\],)re"
    R"re("total":0,"truncated":false,)re"
    R"re("timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}\}\n\n)re");

TEST(SurfaceLoopbackTest, EveryStreamAnswersWithTheExactSseHeadAndPreamble) {
  TestHub hub;
  for (const char* path : {kAguiStream, kA2aStream, kContextsStream}) {
    SCOPED_TRACE(path);
    Headers headers = AuthAs("alice");
    headers.emplace_back("X-Request-Id", "surface-head");
    SseStream stream(hub.port(), path, headers);
    EXPECT_EQ(stream.status(), 200);
    EXPECT_EQ(stream.head().raw_head, kSseHead);
    const auto frames = stream.WaitFrames(1);
    ASSERT_GE(frames.size(), 1u);
    if (std::string(path) == kContextsStream) {
      EXPECT_EQ(frames[0], kPreamble);
    } else {
      EXPECT_EQ(OpeningCursor(frames[0]), FormatEventId({hub.store().History(), 0})) << frames[0];
    }
    EXPECT_EQ(stream.body().rfind("retry: 2000\n:ok\n", 0), 0u) << "the preamble comes first";
  }
}

// The dashboard may run only its own inline code, talk only to this origin, and not be framed.
TEST(SurfaceLoopbackTest, TheDashboardCarriesItsSecurityHeaders) {
  TestHub hub;
  const HttpReply page = Request(hub.port(), "GET", "/");
  ASSERT_EQ(page.status, 200);
  const std::string policy = page.Header("content-security-policy");
  // (The test hub serves an empty page: the hashes of the real one are checked by the
  // conformance suite, whose Chromium runs the dashboard under this policy.)
  EXPECT_EQ(policy.rfind("default-src 'none'; script-src", 0), 0u) << policy;
  EXPECT_TRUE(policy.ends_with("frame-ancestors 'none'")) << policy;
  EXPECT_EQ(page.Header("x-frame-options"), "DENY");
  EXPECT_EQ(page.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(page.Header("referrer-policy"), "no-referrer");
}

// The request line and headers are bounded (16 KiB by default): past it, 431 with the JSON error,
// and the connection is closed; below it, the request is served.
TEST(SurfaceLoopbackTest, HeadersOverTheLimitGet431) {
  TestHub hub;
  const HttpReply big =
      Request(hub.port(), "GET", "/health", {{"X-Pad", std::string(17'000, 'a')}});
  EXPECT_EQ(big.status, 431) << big.body;
  EXPECT_EQ(big.Header("content-type"), "application/json");
  EXPECT_EQ(big.body.rfind(R"({"code":"request_header_fields_too_large","message":")", 0), 0u)
      << big.body;
  EXPECT_EQ(Request(hub.port(), "GET", "/health", {{"X-Pad", std::string(15'000, 'a')}}).status,
            200);
}

// A request the parser cannot read is answered once, with the connection's end announced, and
// the hub closes it.
TEST(SurfaceLoopbackTest, AnUnreadableRequestIsAnswered400OnceThenTheConnectionCloses) {
  TestHub hub;
  Connection connection(hub.port());
  connection.Send("NOT HTTP AT ALL\r\n\r\n");
  ASSERT_TRUE(connection.ReadToEof(10s)) << connection.buffer();
  const std::optional<HttpReply> reply = ParseReply(connection.buffer());
  ASSERT_TRUE(reply) << connection.buffer();
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_EQ(reply->Header("x-request-id").size(), 24u);
  EXPECT_EQ(reply->body.rfind(R"({"code":"bad_request","message":"Malformed HTTP request.")", 0),
            0u)
      << reply->body;
}

// A target that is not a valid origin-form (a broken percent-escape) is the client's error, and
// the connection stays usable.
TEST(SurfaceLoopbackTest, AMalformedTargetIsAnswered400OnAConnectionThatStaysOpen) {
  TestHub hub;
  HttpClient client(hub.port());
  const HttpReply bad = client.Request("GET", "/health?%zz");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body.rfind(R"({"code":"bad_request","message":"Malformed request target.")", 0), 0u)
      << bad.body;
  EXPECT_EQ(client.Request("GET", "/health").status, 200);
}

// X-Request-Id: every answer names its request; a client's own id (1-128 visible ASCII
// characters) is kept, anything else replaced by the hub's (24 hex digits, unique).
TEST(SurfaceLoopbackTest, EveryAnswerNamesItsRequestKeepingAValidIdTheClientSent) {
  TestHub hub;
  const std::regex generated("[0-9a-f]{24}");
  const HttpReply first = Request(hub.port(), "GET", "/health");
  const HttpReply second = Request(hub.port(), "GET", "/health");
  EXPECT_TRUE(std::regex_match(first.Header("x-request-id"), generated)) << first.raw_head;
  EXPECT_TRUE(std::regex_match(second.Header("x-request-id"), generated));
  EXPECT_NE(first.Header("x-request-id"), second.Header("x-request-id"));

  const std::string mine = "trace-4bf92f3577b34da6.a3ce929d0e0e4736:01";
  EXPECT_EQ(Request(hub.port(), "GET", "/health", {{"X-Request-Id", mine}}).Header("x-request-id"),
            mine);
  EXPECT_EQ(Request(hub.port(), "GET", "/nowhere", {{"X-Request-Id", mine}}).Header("x-request-id"),
            mine)
      << "errors too";
  Headers publish = JsonAuthAs("alice", "events:publish");
  publish.emplace_back("X-Request-Id", mine);
  const HttpReply published =
      Request(hub.port(), "POST", kAguiWebhook, publish, AguiText("alice", "m1", "hi"));
  EXPECT_EQ(published.status, 200) << published.body;
  EXPECT_EQ(published.Header("x-request-id"), mine);

  for (const std::string& bad : {std::string(129, 'a'), std::string("two words")}) {
    const HttpReply reply = Request(hub.port(), "GET", "/health", {{"X-Request-Id", bad}});
    EXPECT_TRUE(std::regex_match(reply.Header("x-request-id"), generated))
        << "'" << bad << "' -> " << reply.Header("x-request-id");
  }
  EXPECT_EQ(Request(hub.port(), "GET", "/health", {{"X-Request-Id", std::string(128, 'a')}})
                .Header("x-request-id"),
            std::string(128, 'a'));
  // A request the hub cannot read still gets an id.
  const HttpReply big =
      Request(hub.port(), "GET", "/health", {{"X-Pad", std::string(17'000, 'a')}});
  EXPECT_EQ(big.status, 431);
  EXPECT_TRUE(std::regex_match(big.Header("x-request-id"), generated)) << big.raw_head;
}

// `Expect: 100-continue` (curl sends it for bodies over 1 KiB): "100 Continue" before the body is
// read, then the answer; a body the hub would refuse anyway is refused at once, unread.
TEST(SurfaceLoopbackTest, ExpectContinueIsAnsweredBeforeTheBodyAndRefusalsComeAtOnce) {
  TestHubOptions options;
  options.http.max_body_bytes = 2048;
  TestHub hub(options);
  const std::string body = AguiText("alice", "m1", "continued");
  const auto head = [&](std::size_t length) {
    std::string request = std::string("POST ") + kAguiWebhook + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [name, value] : JsonAuthAs("alice")) request += name + ": " + value + "\r\n";
    return request + "Content-Length: " + std::to_string(length) +
           "\r\nExpect: 100-continue\r\n\r\n";
  };

  Connection accepted(hub.port());
  accepted.Send(head(body.size()));
  ASSERT_TRUE(accepted.ReadUntil("\r\n\r\n", 10s)) << accepted.buffer();
  EXPECT_EQ(accepted.buffer(), "HTTP/1.1 100 Continue\r\n\r\n");
  accepted.buffer().clear();
  accepted.Send(body);
  ASSERT_TRUE(accepted.ReadUntil("}", 10s)) << accepted.buffer();
  EXPECT_EQ(accepted.buffer().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << accepted.buffer();

  Connection refused(hub.port());
  refused.Send(head(4096));
  ASSERT_TRUE(refused.ReadUntil("}", 10s)) << refused.buffer();
  EXPECT_EQ(refused.buffer().rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u)
      << refused.buffer();
}

// An HTTP/1.0 client cannot read chunks: its stream is the same frames, ended by the connection.
TEST(SurfaceLoopbackTest, AnHttp10StreamIsNotChunked) {
  TestHub hub;
  Connection connection(hub.port());
  std::string request = std::string("GET ") + kAguiStream + " HTTP/1.0\r\n";
  for (const auto& [name, value] : AuthAs("alice")) request += name + ": " + value + "\r\n";
  connection.Send(request + "X-Request-Id: surface-10\r\n\r\n");
  ASSERT_TRUE(connection.ReadUntil("\n\n", 10s) && connection.ReadUntil("\r\n\r\n", 10s));
  const std::string& raw = connection.buffer();
  const auto head_end = raw.find("\r\n\r\n") + 4;
  EXPECT_EQ(raw.substr(0, head_end), kSseHead10) << raw;
  EXPECT_EQ(raw.compare(head_end, 16, "retry: 2000\n:ok\n"), 0) << raw;
}

// docs/DECISIONS.md: the snapshot always carries the stream's cursor as its id; for a user
// without events the position before the first, so a reconnect misses nothing published since.
TEST(SurfaceLoopbackTest,
     ContextsStreamStartsWithAnEmptySnapshotAtThePositionBeforeANewUsersFirstEvent) {
  TestHub hub;
  SseStream stream(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_EQ(stream.status(), 200);
  const auto frames = stream.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], kPreamble);
  const std::string id_line = "id: " + FormatEventId({hub.store().History(), 0}) + "\n";
  ASSERT_EQ(frames[1].rfind(id_line, 0), 0u) << frames[1];
  EXPECT_TRUE(std::regex_match(frames[1].substr(id_line.size()), kEmptySnapshot)) << frames[1];
  EXPECT_EQ(stream.body().find('\r'), std::string::npos) << "LF only";
}

TEST(SurfaceLoopbackTest, ContextsSnapshotCarriesTheIdOfTheUsersLatestEvent) {
  TestHub hub;
  const HttpReply first = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "one"));
  const HttpReply second = PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "two"));
  ASSERT_EQ(second.status, 200) << second.body;
  const std::string id = EventIdOf(second);
  ASSERT_FALSE(id.empty());
  ASSERT_NE(EventIdOf(first), id);

  SseStream stream(hub.port(), kContextsStream, AuthAs("alice"));
  const auto frames = stream.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_EQ(frames[1].rfind("id: " + id + "\n", 0), 0u) << frames[1];
  EXPECT_TRUE(std::regex_match(frames[1].substr(("id: " + id + "\n").size()), kEmptySnapshot))
      << frames[1];
}

TEST(SurfaceLoopbackTest, StreamsCarryLineFeedsOnly) {
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));
  ASSERT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "a\\r\\nb")).status, 200);
  ASSERT_TRUE(agui.WaitFrameContaining("TEXT_MESSAGE_CONTENT"));
  ASSERT_TRUE(contexts.WaitFrameContaining("TEXT_MESSAGE_CONTENT"));
  EXPECT_EQ(agui.body().find('\r'), std::string::npos) << agui.body();
  EXPECT_EQ(contexts.body().find('\r'), std::string::npos) << contexts.body();
}

TEST(SurfaceLoopbackTest, OtherMethodsOnAStreamPathAnswer405WithAllowGet) {
  TestHub hub;
  for (const char* path : {kAguiStream, kA2aStream, kContextsStream}) {
    for (const char* method : {"POST", "PUT", "DELETE"}) {
      SCOPED_TRACE(std::string(method) + " " + path);
      const HttpReply reply = Request(
          hub.port(), method, path,
          {{"Authorization", TestHub::Bearer("alice")}, {"Content-Type", "application/json"}},
          "{}");
      EXPECT_EQ(reply.status, 405);
      EXPECT_EQ(reply.Header("allow"), "GET");
      EXPECT_EQ(reply.Header("content-type"), "application/json");
      EXPECT_EQ(reply.body.rfind(R"({"code":"method_not_allowed","message":")", 0), 0u)
          << reply.body;
    }
  }
}

TEST(SurfaceLoopbackTest, TrailingSlashRedirects308ToThePathWithoutItKeepingTheQuery) {
  TestHub hub;
  struct Case {
    std::string target;
    std::string location;
  };
  for (const Case& c : std::vector<Case>{
           {"/api/v1/stream/agui/", "/api/v1/stream/agui"},
           {"/api/v1/stream/contexts/?context_id=c1&last_event_id=x",
            "/api/v1/stream/contexts?context_id=c1&last_event_id=x"},
           {"/api/v1/webhook/agui/", "/api/v1/webhook/agui"},
       }) {
    SCOPED_TRACE(c.target);
    const HttpReply reply = Request(hub.port(), "GET", c.target, AuthAs("alice"));
    EXPECT_EQ(reply.status, 308);
    EXPECT_EQ(reply.Header("location"), c.location);
  }
  // POST keeps its method and body across a 308, so the publish path redirects too.
  const HttpReply post = Request(hub.port(), "POST", "/api/v1/webhook/agui/?x=1",
                                 JsonAuthAs("alice"), AguiText("alice", "m1", "hi"));
  EXPECT_EQ(post.status, 308);
  EXPECT_EQ(post.Header("location"), "/api/v1/webhook/agui?x=1");
}

TEST(SurfaceLoopbackTest, StreamsRefuseRequestsWithoutAToken) {
  TestHub hub;
  for (const char* path : {kAguiStream, kA2aStream, kContextsStream}) {
    SCOPED_TRACE(path);
    SseStream stream(hub.port(), path, {}, std::chrono::seconds(5));
    EXPECT_EQ(stream.status(), 401);
    EXPECT_EQ(stream.head().Header("www-authenticate"), "Bearer");
    EXPECT_EQ(stream.head().body.rfind(R"({"code":"unauthorized",)", 0), 0u) << stream.head().body;
  }
}

}  // namespace
}  // namespace herald::testing
