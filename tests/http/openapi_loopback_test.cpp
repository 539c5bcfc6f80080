// GET /api/v1/openapi.json on the wire: the repository's docs/openapi.json byte for byte, public
// and cacheable.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "http/loopback_support.h"

namespace herald::testing {
namespace {

std::string RepositoryDocument() {
  std::ifstream file(HERALD_OPENAPI_JSON, std::ios::binary);
  EXPECT_TRUE(file) << "cannot read " << HERALD_OPENAPI_JSON;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(OpenApiLoopbackTest, ServesTheRepositorysDocumentByteForByteWithoutAToken) {
  TestHub hub;
  const std::string expected = RepositoryDocument();
  ASSERT_GT(expected.size(), 1000u);
  const HttpReply reply = Request(hub.port(), "GET", "/api/v1/openapi.json");
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 300);
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_EQ(reply.Header("cache-control"), "public, max-age=3600");
  EXPECT_EQ(reply.Header("content-length"), std::to_string(expected.size()));
  EXPECT_TRUE(reply.body == expected)
      << "the served document differs from docs/openapi.json (" << reply.body.size()
      << " bytes served, " << expected.size() << " in the file)";
}

TEST(OpenApiLoopbackTest, OtherMethodsAreRefusedAndATrailingSlashRedirects) {
  TestHub hub;
  const HttpReply post = Request(hub.port(), "POST", "/api/v1/openapi.json", {}, "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET, HEAD");
  EXPECT_EQ(post.body.rfind(R"({"code":"method_not_allowed","message":")", 0), 0u) << post.body;
  const HttpReply slash = Request(hub.port(), "GET", "/api/v1/openapi.json/");
  EXPECT_EQ(slash.status, 308);
  EXPECT_EQ(slash.Header("location"), "/api/v1/openapi.json");
}

}  // namespace
}  // namespace herald::testing
