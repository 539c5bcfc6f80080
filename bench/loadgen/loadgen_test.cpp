// Tests of the load generator's parsers and request building.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http_response_parser.h"
#include "sse_parser.h"
#include "target.h"

namespace herald::bench {
namespace {

class Collect final : public BodySink {
 public:
  void OnBody(std::string_view bytes) override { text.append(bytes); }
  std::string text;
};

class Frames final : public SseHandler {
 public:
  void OnFrame(const SseFrame& frame) override { frames.push_back(frame); }
  std::vector<SseFrame> frames;
};

// Feeds `wire` in pieces of `step` bytes; returns the bytes consumed in total.
std::size_t FeedInSteps(ResponseParser& parser, std::string_view wire, std::size_t step,
                        BodySink& sink) {
  std::size_t used = 0;
  while (used < wire.size() && parser.state() != ResponseParser::State::kDone &&
         parser.state() != ResponseParser::State::kError) {
    used += parser.Feed(wire.substr(used, step), sink);
  }
  return used;
}

TEST(ResponseParser, ContentLengthKeepAliveAndRetryAfter) {
  const std::string wire =
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 5\r\n\r\nbusy!"
      "HTTP/1.1 200 OK\r\n";
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    ResponseParser parser;
    Collect body;
    const std::size_t used = FeedInSteps(parser, wire, step, body);
    ASSERT_EQ(parser.state(), ResponseParser::State::kDone) << step;
    EXPECT_EQ(used, wire.find("HTTP/1.1 200"));
    EXPECT_EQ(parser.status(), 503);
    EXPECT_EQ(parser.retry_after(), 2);
    EXPECT_TRUE(parser.keep_alive());
    EXPECT_EQ(body.text, "busy!");
  }
}

TEST(ResponseParser, ChunkedAtEveryBoundary) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n";
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    ResponseParser parser;
    Collect body;
    FeedInSteps(parser, wire, step, body);
    ASSERT_EQ(parser.state(), ResponseParser::State::kDone) << step;
    EXPECT_TRUE(parser.chunked());
    EXPECT_EQ(body.text, "hello, world");
  }
}

TEST(ResponseParser, UntilCloseAndConnectionClose) {
  ResponseParser parser;
  Collect body;
  parser.Feed("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: hi\n\n", body);
  EXPECT_EQ(parser.state(), ResponseParser::State::kBody);
  EXPECT_FALSE(parser.keep_alive());
  EXPECT_EQ(body.text, ": hi\n\n");

  ResponseParser closing;
  closing.Feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", body);
  EXPECT_EQ(closing.state(), ResponseParser::State::kDone);
  EXPECT_FALSE(closing.keep_alive());
}

TEST(ResponseParser, RejectsGarbage) {
  ResponseParser parser;
  Collect body;
  parser.Feed("SSH-2.0-OpenSSH\r\n\r\n", body);
  EXPECT_EQ(parser.state(), ResponseParser::State::kError);
}

TEST(SseParser, MessagesHeartbeatsAndSplitLines) {
  const std::string stream =
      "retry: 3000\n:connected\n\n"
      "event: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n"
      "id: 7\ndata: {\"type\":\"CUSTOM\",\"value\":{\"t\":123456789,\"s\":42,\"pad\":\"xx\"}}\n\n"
      "event: reset\r\ndata: {\"type\":\"STREAM_RESET\"}\r\n\r\n"
      "id: 8\ndata: {\"no\":\"numbers\"}\n\n";
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    Frames handler;
    SseParser parser(handler);
    for (std::size_t at = 0; at < stream.size(); at += step) {
      parser.OnBody(std::string_view(stream).substr(at, step));
    }
    ASSERT_EQ(handler.frames.size(), 4U) << step;
    EXPECT_TRUE(handler.frames[0].heartbeat);
    EXPECT_FALSE(handler.frames[1].named);
    EXPECT_TRUE(handler.frames[1].has_t);
    EXPECT_EQ(handler.frames[1].t, 123456789);
    EXPECT_EQ(handler.frames[1].s, 42);
    EXPECT_TRUE(handler.frames[2].named);
    EXPECT_FALSE(handler.frames[2].heartbeat);
    EXPECT_FALSE(handler.frames[3].has_t);
    EXPECT_EQ(parser.last_event_id(), "8");
    EXPECT_EQ(parser.comments(), 1U);
  }
}

TEST(SseParser, KeyNamedLikeTimestampIsNotT) {
  std::int64_t v = 0;
  EXPECT_FALSE(FindJsonInt(R"({"timestamp":5,"type":"X"})", "\"t\":", v));
  EXPECT_TRUE(FindJsonInt(R"({"timestamp":5,"value":{"t": 9}})", "\"t\":", v));
  EXPECT_EQ(v, 9);
}

TEST(Target, EventBodyIsPaddedToTheExactSize) {
  Options options;
  options.target = TargetKind::kNchan;
  options.port = 1;
  for (const int size : {128, 200, 1000}) {
    options.event_size = size;
    const Target target(options);
    std::string body;
    target.EventBody(12, 34567, 1'234'567'890'123, body);
    EXPECT_EQ(body.size(), static_cast<std::size_t>(size)) << body;
    EXPECT_EQ(
        body.rfind(
            R"({"user_id":"user-12","type":"CUSTOM","name":"bench","value":{"t":1234567890123,"s":34567,"pad":")",
            0),
        0U);
  }
}

TEST(Target, HeraldRequestsCarryTokensAndResumeHeader) {
  Options options;
  options.target = TargetKind::kHerald;
  options.port = 8080;
  options.users = 2;
  options.jwt_secret = "secret";
  const Target target(options);
  const std::string first = target.SubscribeRequest(1);
  EXPECT_NE(first.find("GET /api/v1/stream/agui HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(first.find("Authorization: Bearer ey"), std::string::npos);
  EXPECT_EQ(first.find("Last-Event-ID"), std::string::npos);
  EXPECT_NE(target.SubscribeRequest(1, "u1-42").find("Last-Event-ID: u1-42\r\n"),
            std::string::npos);
  std::string publish;
  target.PublishRequest(1, 5, 99, publish);
  EXPECT_EQ(publish.rfind("POST /api/v1/webhook/agui HTTP/1.1\r\n", 0), 0U);
  EXPECT_NE(publish.find("Content-Length: 200\r\n"), std::string::npos);
}

TEST(Target, BatchBodyIsAnArrayOfPaddedAguiItems) {
  Options options;
  options.target = TargetKind::kHerald;
  options.port = 8080;
  options.users = 3;
  options.event_size = 200;
  options.jwt_secret = "secret";
  const Target target(options);
  std::string body;
  target.BatchBody(4, 3, 3, 77, body);
  ASSERT_EQ(body.front(), '[');
  ASSERT_EQ(body.back(), ']');
  const std::string item0 =
      R"({"user_id":"user-1","protocol":"agui","event":{"type":"CUSTOM","name":"bench","value":{"t":77,"s":4,"pad":")";
  EXPECT_EQ(body.find(item0), 1U);
  EXPECT_NE(
      body.find(
          R"({"user_id":"user-2","protocol":"agui","event":{"type":"CUSTOM","name":"bench","value":{"t":77,"s":5,)"),
      std::string::npos);
  EXPECT_NE(
      body.find(
          R"({"user_id":"user-0","protocol":"agui","event":{"type":"CUSTOM","name":"bench","value":{"t":77,"s":6,)"),
      std::string::npos);
  // Each event object (from its '{' to its matching '}') is exactly the event size.
  std::size_t events = 0;
  for (std::size_t at = body.find(R"("event":)"); at != std::string::npos;
       at = body.find(R"("event":)", at + 1)) {
    const std::size_t open = at + 8;
    const std::size_t close = body.find(R"("}})", open);
    ASSERT_NE(close, std::string::npos);
    EXPECT_EQ(close + 3 - open, 200U);
    ++events;
  }
  EXPECT_EQ(events, 3U);

  std::string request;
  target.BatchRequest(4, 3, 3, 77, request);
  EXPECT_EQ(request.rfind("POST /api/v1/events HTTP/1.1\r\n", 0), 0U);
  EXPECT_NE(request.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(request.find("Authorization: Bearer ey"), std::string::npos);
  EXPECT_NE(request.find(fmt::format("Content-Length: {}\r\n", body.size())), std::string::npos);
  EXPECT_EQ(request.substr(request.size() - body.size()), body);
}

TEST(BatchAnswer, CountsEachItemInOrder) {
  const BatchAnswer good = ParseBatchAnswer(
      R"({"results":[{"status":200,"event_id":"h1-7","connection_count":1},)"
      R"({"status":422,"code":"invalid","message":"a \"status\":200 in text","field":"event"},)"
      R"({"status":200,"event_id":"h1-8","connection_count":0}],"accepted":2,"rejected":1})");
  EXPECT_TRUE(good.ok);
  EXPECT_EQ(good.statuses, (std::vector<int>{200, 422, 200}));
  EXPECT_EQ(good.accepted, 2);
  EXPECT_EQ(good.rejected, 1);

  EXPECT_FALSE(ParseBatchAnswer(R"({"results":[{"status":200}],"accepted":2,"rejected":0})").ok);
  EXPECT_FALSE(ParseBatchAnswer(R"({"results":[{"status":200})").ok);
  EXPECT_FALSE(ParseBatchAnswer(R"({"error":{"code":"bad"}})").ok);
}

}  // namespace
}  // namespace herald::bench
