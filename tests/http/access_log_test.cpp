// The access log's line (http/access_log.h): text and JSON members, sans I/O.
#include "http/access_log.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace herald::http {
namespace {

using namespace std::chrono_literals;

TEST(AccessLogTest, TextLineNamesTheRequestItsAnswerAndTheCaller) {
  const std::optional<UserId> alice = UserId("alice");
  EXPECT_EQ(FormatAccess({.method = "POST",
                          .path = "/api/v1/webhook/agui",
                          .status = 200,
                          .duration = 1250us,
                          .request_id = "req-1",
                          .user = &alice,
                          .body_bytes = 52,
                          .stream = false},
                         false),
            "POST /api/v1/webhook/agui 200 1.250 ms 52 B id=req-1 user=alice");
  const std::optional<UserId> nobody;
  EXPECT_EQ(FormatAccess({.method = "GET",
                          .path = "/api/v1/stream/agui",
                          .status = 200,
                          .duration = 500us,
                          .request_id = "req-2",
                          .user = &nobody,
                          .body_bytes = 0,
                          .stream = true},
                         false),
            "GET /api/v1/stream/agui 200 0.500 ms 0 B id=req-2 stream");
}

TEST(AccessLogTest, JsonMembersFormAnObjectWithEveryFieldEscaped) {
  const std::optional<UserId> user = UserId("bob \"the\" builder");
  const std::string members = FormatAccess({.method = "GET",
                                            .path = "/a\"b\\c",
                                            .status = 404,
                                            .duration = 2ms,
                                            .request_id = "id\"1",
                                            .user = &user,
                                            .body_bytes = 7,
                                            .stream = true},
                                           true);
  const boost::json::value parsed = boost::json::parse("{" + members + "}");
  const boost::json::object& object = parsed.as_object();
  EXPECT_EQ(object.at("message"), "request");
  EXPECT_EQ(object.at("method"), "GET");
  EXPECT_EQ(object.at("path"), "/a\"b\\c");
  EXPECT_EQ(object.at("status"), 404);
  EXPECT_EQ(object.at("duration_ms"), 2.0);
  EXPECT_EQ(object.at("bytes"), 7);
  EXPECT_EQ(object.at("request_id"), "id\"1");
  EXPECT_EQ(object.at("user"), "bob \"the\" builder");
  EXPECT_EQ(object.at("stream"), true);
  const std::optional<UserId> nobody;
  const boost::json::value anonymous = boost::json::parse("{" +
                                                          FormatAccess({.method = "GET",
                                                                        .path = "/health",
                                                                        .status = 200,
                                                                        .duration = 1ms,
                                                                        .request_id = "x",
                                                                        .user = &nobody,
                                                                        .body_bytes = 20,
                                                                        .stream = false},
                                                                       true) +
                                                          "}");
  EXPECT_FALSE(anonymous.as_object().contains("user"));
  EXPECT_FALSE(anonymous.as_object().contains("stream"));
}

}  // namespace
}  // namespace herald::http
