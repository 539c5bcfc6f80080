// Operations on the wire (spec §1.4, §6 drain, §7 metrics): health, readiness, metrics, admin
// connection control, unknown paths, and the graceful drain of open streams.
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "http/loopback_support.h"

namespace herald::testing {
namespace {

TEST(OpsLoopbackTest, HealthAndReadinessAnswer200) {
  TestHub hub;
  for (const char* path : {"/health", "/api/v1/health"}) {
    SCOPED_TRACE(path);
    const HttpReply reply = Request(hub.port(), "GET", path);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.Header("content-type"), "application/json");
    EXPECT_EQ(reply.body, R"({"status":"healthy"})");
  }
  const HttpReply ready = Request(hub.port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  // Health needs no token, and other methods are refused.
  const HttpReply post = Request(hub.port(), "POST", "/health", {}, "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET, HEAD");
}

TEST(OpsLoopbackTest, MetricsAreInPrometheusTextFormatAndCountStreams) {
  TestHub hub;
  SseStream agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream contexts(hub.port(), kContextsStream, AuthAs("alice"));
  ASSERT_TRUE(contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));
  ASSERT_EQ(PublishAgui(hub.port(), "alice", AguiText("alice", "m1", "x")).status, 200);
  ASSERT_TRUE(agui.WaitFrameContaining("TEXT_MESSAGE_CONTENT"));

  const HttpReply reply = Request(hub.port(), "GET", "/metrics", AuthAs("prometheus", "metrics"));
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(reply.body.find("# TYPE herald_connections gauge\n"), std::string::npos);
  EXPECT_EQ(MetricValue(reply.body, R"(herald_connections{stream="agui"})"), 1.0);
  EXPECT_EQ(MetricValue(reply.body, R"(herald_connections{stream="a2a"})"), 0.0);
  EXPECT_EQ(MetricValue(reply.body, R"(herald_connections{stream="contexts"})"), 1.0);
  EXPECT_EQ(
      MetricValue(reply.body,
                  R"(herald_events_published_total{protocol="agui",type="TEXT_MESSAGE_CONTENT"})"),
      1.0);
  // Every line is a comment or `name[{labels}] value`.
  const std::regex sample(R"re(# (HELP|TYPE) .*|[a-z_]+(\{[^}]*\})? -?[0-9.]+(e[-+]?[0-9]+)?)re");
  for (const std::string& line : [&] {
         std::vector<std::string> lines;
         std::size_t pos = 0;
         while (pos < reply.body.size()) {
           const auto end = reply.body.find('\n', pos);
           lines.push_back(reply.body.substr(pos, end - pos));
           pos = end == std::string::npos ? reply.body.size() : end + 1;
         }
         return lines;
       }()) {
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
  }
  EXPECT_EQ(reply.body.back(), '\n');
}

TEST(OpsLoopbackTest, HeadAnswersAreTheGetHeadsWithoutTheBody) {
  TestHub hub;
  // A scraper's token: the metrics routes need one outside --dev; the others ignore it.
  const auto auth = AuthAs("prometheus", "metrics");
  const std::string& authorization = auth.front().second;
  for (const std::string path : {"/", "/health", "/api/v1/health", "/readyz", "/metrics",
                                 "/api/v1/metrics/history", "/api/v1/openapi.json"}) {
    SCOPED_TRACE(path);
    const HttpReply get = Request(hub.port(), "GET", path, auth);
    ASSERT_EQ(get.status, 200);
    ASSERT_FALSE(get.body.empty());
    // HEAD, then GET on the same connection: the second answer must follow the first head at once
    // (a body after a HEAD answer would be read as the next answer).
    Connection connection(hub.port());
    connection.Send("HEAD " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: " + authorization +
                    "\r\n\r\nGET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(connection.ReadToEof(std::chrono::seconds(10)));
    const std::string& bytes = connection.buffer();
    const auto head_end = bytes.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << bytes;
    const std::string head = bytes.substr(0, head_end + 2);
    EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("Content-Type: " + get.Header("content-type") + "\r\n"), std::string::npos)
        << head;
    // The metrics and their history change between the two requests.
    if (path != "/metrics" && path != "/api/v1/metrics/history") {
      EXPECT_NE(head.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"),
                std::string::npos)
          << head;
    }
    EXPECT_EQ(bytes.substr(head_end + 4, 17), "HTTP/1.1 200 OK\r\n") << bytes.substr(head_end);
  }
}

TEST(OpsLoopbackTest, UnknownPathIs404JsonNotFound) {
  TestHub hub;
  for (const char* path : {"/nope", "/api/v1/stream/agui2", "/api/v2/stream/agui", "/api/v1/stream",
                           "/api/v1/admin/users/alice"}) {
    SCOPED_TRACE(path);
    const HttpReply reply = Request(hub.port(), "GET", path, AuthAs("alice"));
    EXPECT_EQ(reply.status, 404);
    EXPECT_EQ(reply.Header("content-type"), "application/json");
    EXPECT_EQ(reply.body.rfind(R"({"code":"not_found","message":")", 0), 0u) << reply.body;
  }
}

TEST(OpsLoopbackTest, AdminListsAndDisconnectsAUsersConnectionsOnly) {
  TestHub hub;
  const std::string target = "/api/v1/admin/users/alice/connections";
  SseStream alice_agui(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream alice_agui2(hub.port(), kAguiStream, AuthAs("alice"));
  SseStream alice_contexts(hub.port(), kContextsStream, AuthAs("alice"));
  SseStream bob_agui(hub.port(), kAguiStream, AuthAs("bob"));
  ASSERT_TRUE(alice_contexts.WaitFrameContaining("CONTEXTS_SNAPSHOT"));
  ASSERT_TRUE(hub.WaitForOpenStreams(4));

  // Without the admin scope (alice herself included): 403; without a token: 401.
  for (const Headers& headers : {AuthAs("alice"), AuthAs("ops", "events:publish")}) {
    for (const char* method : {"GET", "DELETE"}) {
      const HttpReply denied = Request(hub.port(), method, target, headers);
      EXPECT_EQ(denied.status, 403) << denied.body;
      EXPECT_EQ(denied.body.rfind(R"({"code":"forbidden","message":")", 0), 0u) << denied.body;
    }
  }
  EXPECT_EQ(Request(hub.port(), "GET", target).status, 401);
  EXPECT_TRUE(hub.WaitForOpenStreams(4)) << "a refused DELETE disconnected nothing";

  const HttpReply listed = Request(hub.port(), "GET", target, AuthAs("ops", "admin"));
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.body,
            R"({"data":{"user_id":"alice","connections":{"agui":2,"a2a":0,"contexts":1}}})");

  const HttpReply deleted = Request(hub.port(), "DELETE", target, AuthAs("ops", "admin"));
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.body, R"({"data":{"user_id":"alice","disconnected":3}})");

  EXPECT_TRUE(alice_agui.WaitEof(std::chrono::seconds(5)));
  EXPECT_TRUE(alice_agui2.WaitEof(std::chrono::seconds(5)));
  EXPECT_TRUE(alice_contexts.WaitEof(std::chrono::seconds(5)));
  EXPECT_FALSE(OpeningCursor(alice_agui.body()).empty()) << "nothing but the opening";
  for (const SseStream* s : {&alice_agui, &alice_agui2, &alice_contexts}) {
    EXPECT_TRUE(s->EndedWithoutLastChunk()) << "a fetch reader must see an error and resume";
  }
  ASSERT_TRUE(hub.WaitForOpenStreams(1));

  // Bob's stream is untouched: it still receives.
  const HttpReply published = PublishAgui(hub.port(), "bob", AguiText("bob", "m1", "still", "1"));
  ASSERT_EQ(published.status, 200);
  const auto frames = bob_agui.WaitFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1],
            "id: " + EventIdOf(published) + "\ndata: " + AguiTextJson("m1", "still", "1") + "\n\n");
  EXPECT_FALSE(bob_agui.connection().eof());

  const HttpReply after = Request(hub.port(), "GET", target, AuthAs("ops", "admin"));
  EXPECT_EQ(after.body,
            R"({"data":{"user_id":"alice","connections":{"agui":0,"a2a":0,"contexts":0}}})");
  EXPECT_EQ(ScrapeMetric(hub.port(), R"(herald_disconnects_total{reason="admin"})"), 3.0);
}

TEST(OpsLoopbackTest, DrainEndsOpenStreamsWithARetryFrameThenEof) {
  auto hub = std::make_unique<TestHub>();
  const unsigned short port = hub->port();
  SseStream agui(port, kAguiStream, AuthAs("alice"));
  SseStream contexts(port, kContextsStream, AuthAs("alice"));
  ASSERT_EQ(agui.WaitFrames(1).size(), 1u);
  ASSERT_EQ(contexts.WaitFrames(2).size(), 2u);

  // Destroy the hub on another thread while this one reads.
  std::thread stopper([&hub] { hub.reset(); });
  const bool agui_eof = agui.WaitEof(std::chrono::seconds(10));
  const bool contexts_eof = contexts.WaitEof(std::chrono::seconds(10));
  stopper.join();
  ASSERT_TRUE(agui_eof);
  ASSERT_TRUE(contexts_eof);

  const std::regex retry_frame(R"re(retry: (\d+)\n\n)re");
  for (SseStream* stream : {&agui, &contexts}) {
    const auto frames = SplitFrames(stream->body());
    ASSERT_GE(frames.size(), 2u);
    std::smatch match;
    ASSERT_TRUE(std::regex_match(frames.back(), match, retry_frame)) << frames.back();
    const int retry = std::stoi(match[1].str());
    EXPECT_GE(retry, 2000);
    EXPECT_LE(retry, 5000);  // the default drain window
    EXPECT_TRUE(stream->body().ends_with(frames.back())) << "nothing after the retry frame";
    EXPECT_TRUE(stream->EndedWithoutLastChunk()) << "a fetch reader must see an error and resume";
  }
}

TEST(OpsLoopbackTest, ReadyzIs503AndNewStreamsAreRefusedWhileDraining) {
  TestHub hub;
  hub.services().draining = true;
  const HttpReply ready = Request(hub.port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  SseStream refused(hub.port(), kAguiStream, AuthAs("alice"));
  EXPECT_EQ(refused.status(), 503);
  EXPECT_FALSE(refused.head().Header("retry-after").empty());
  EXPECT_EQ(refused.head().body.rfind(R"({"code":"service_unavailable","message":")", 0), 0u)
      << refused.head().body;
  hub.services().draining = false;
}

// Keeps the lines the server's threads log, for the test thread to read under the same lock.
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> Lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}
  std::vector<std::string> lines_;
};

// --access-log: one line per answered request, streams at their opening; here as JSON members.
TEST(OpsLoopbackTest, TheAccessLogHasALinePerAnsweredRequestWithItsIdUserAndStatus) {
  auto sink = std::make_shared<LineSink>();
  TestHubOptions options;
  options.http.access_log = std::make_shared<spdlog::logger>("access", sink);
  options.http.access_log_json = true;
  TestHub hub(options);

  Headers publish = JsonAuthAs("alice");
  publish.emplace_back("X-Request-Id", "publish-1");
  ASSERT_EQ(Request(hub.port(), "POST", std::string(kAguiWebhook) + "?probe=secret", publish,
                    AguiText("alice", "m1", "hi"))
                .status,
            200);
  { SseStream stream(hub.port(), kAguiStream, AuthAs("alice")); }
  ASSERT_EQ(Request(hub.port(), "GET", "/nowhere").status, 404);
  ASSERT_TRUE(WaitUntil([&] { return sink->Lines().size() >= 3; }));
  std::vector<boost::json::object> lines;
  std::string all;
  for (const std::string& line : sink->Lines()) {
    lines.push_back(boost::json::parse("{" + line + "}").as_object());
    all += line + "\n";
  }
  ASSERT_EQ(lines.size(), 3u) << all;
  EXPECT_EQ(lines[0].at("method"), "POST");
  EXPECT_EQ(lines[0].at("path"), "/api/v1/webhook/agui") << "the query is not logged";
  EXPECT_EQ(lines[0].at("status"), 200);
  EXPECT_EQ(lines[0].at("request_id"), "publish-1");
  EXPECT_EQ(lines[0].at("user"), "alice");
  EXPECT_GT(lines[0].at("bytes").as_int64(), 0);
  EXPECT_EQ(lines[1].at("path"), kAguiStream);
  EXPECT_EQ(lines[1].at("status"), 200);
  EXPECT_EQ(lines[1].at("stream"), true);
  EXPECT_EQ(lines[1].at("user"), "alice");
  EXPECT_EQ(lines[2].at("status"), 404);
  EXPECT_FALSE(lines[2].contains("user"));
  EXPECT_EQ(all.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace herald::testing
