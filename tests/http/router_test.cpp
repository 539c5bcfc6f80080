#include "http/router.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace herald::http {
namespace {

using boost::beast::http::verb;

std::string Describe(const RouteResult& result) {
  struct {
    std::string operator()(const RouteMatch& m) const {
      return "RouteMatch{" + std::to_string(static_cast<int>(m.route)) + ", id=" + m.path_id +
             ", query=" + m.query + "}";
    }
    std::string operator()(const Redirect& r) const { return "Redirect{" + r.location + "}"; }
    std::string operator()(const NotFound&) const { return "NotFound"; }
    std::string operator()(const MethodNotAllowed& m) const {
      return "MethodNotAllowed{" + m.allow + "}";
    }
    std::string operator()(const BadTarget&) const { return "BadTarget"; }
  } visitor;
  return std::visit(visitor, result);
}

// ---- The route table ----------------------------------------------------------------------------

struct RouteCase {
  verb method;
  std::string target;
  RouteId route;
  std::string path_id;
};

class RouteTableTest : public ::testing::TestWithParam<RouteCase> {};

TEST_P(RouteTableTest, MatchesTheRoute) {
  const RouteCase& c = GetParam();
  const RouteResult result = Route(c.method, c.target);
  const auto* match = std::get_if<RouteMatch>(&result);
  ASSERT_NE(match, nullptr) << c.target << " -> " << Describe(result);
  EXPECT_EQ(match->route, c.route) << c.target;
  EXPECT_EQ(match->path_id, c.path_id) << c.target;
  EXPECT_EQ(match->query, "") << c.target;
}

INSTANTIATE_TEST_SUITE_P(
    Table, RouteTableTest,
    ::testing::Values(
        RouteCase{verb::get, "/api/v1/stream/agui", RouteId::kStreamAgui, ""},
        RouteCase{verb::get, "/api/v1/stream/a2a", RouteId::kStreamA2a, ""},
        RouteCase{verb::get, "/api/v1/stream/contexts", RouteId::kStreamContexts, ""},
        RouteCase{verb::post, "/api/v1/webhook/agui", RouteId::kWebhookAgui, ""},
        RouteCase{verb::post, "/api/v1/webhook/a2a", RouteId::kWebhookA2a, ""},
        RouteCase{verb::post, "/api/v1/webhook/broadcast", RouteId::kWebhookBroadcast, ""},
        RouteCase{verb::post, "/api/v1/events", RouteId::kEventsBatch, ""},
        RouteCase{verb::get, "/api/v1/core/contexts", RouteId::kContexts, ""},
        RouteCase{verb::post, "/api/v1/core/contexts", RouteId::kContexts, ""},
        RouteCase{verb::get, "/api/v1/core/contexts/ctx-1", RouteId::kContext, "ctx-1"},
        RouteCase{verb::put, "/api/v1/core/contexts/ctx-1", RouteId::kContext, "ctx-1"},
        RouteCase{verb::delete_, "/api/v1/core/contexts/ctx-1", RouteId::kContext, "ctx-1"},
        RouteCase{verb::post, "/api/v1/core/contexts/ctx-1/events", RouteId::kContextEvents,
                  "ctx-1"},
        RouteCase{verb::get, "/api/v1/admin/users/u-9/connections", RouteId::kAdminUserConnections,
                  "u-9"},
        RouteCase{verb::delete_, "/api/v1/admin/users/u-9/connections",
                  RouteId::kAdminUserConnections, "u-9"},
        RouteCase{verb::get, "/health", RouteId::kHealth, ""},
        RouteCase{verb::head, "/health", RouteId::kHealth, ""},
        RouteCase{verb::get, "/api/v1/health", RouteId::kHealth, ""},
        RouteCase{verb::get, "/readyz", RouteId::kReadyz, ""},
        RouteCase{verb::get, "/metrics", RouteId::kMetrics, ""},
        RouteCase{verb::head, "/metrics", RouteId::kMetrics, ""},
        RouteCase{verb::get, "/api/v1/metrics/history", RouteId::kMetricsHistory, ""},
        RouteCase{verb::get, "/", RouteId::kDashboard, ""},
        RouteCase{verb::head, "/", RouteId::kDashboard, ""}));

// ---- Path ids -----------------------------------------------------------------------------------

struct PathIdCase {
  std::string target;
  std::string path_id;
};

class PathIdTest : public ::testing::TestWithParam<PathIdCase> {};

TEST_P(PathIdTest, IsPercentDecoded) {
  const RouteResult result = Route(verb::get, GetParam().target);
  const auto* match = std::get_if<RouteMatch>(&result);
  ASSERT_NE(match, nullptr) << GetParam().target << " -> " << Describe(result);
  EXPECT_EQ(match->path_id, GetParam().path_id);
}

INSTANTIATE_TEST_SUITE_P(
    Decoding, PathIdTest,
    ::testing::Values(PathIdCase{"/api/v1/core/contexts/a%20b", "a b"},
                      PathIdCase{"/api/v1/core/contexts/a%2Fb", "a/b"},
                      PathIdCase{"/api/v1/core/contexts/%C3%A9t%C3%A9", "\xC3\xA9t\xC3\xA9"},
                      PathIdCase{"/api/v1/core/contexts/a+b", "a+b"},
                      PathIdCase{"/api/v1/core/contexts/%2e%2E", ".."},
                      PathIdCase{"/api/v1/admin/users/user%40example.com/connections",
                                 "user@example.com"}));

TEST(RouterTest, EncodedSlashInAnIdDoesNotChangeTheRoute) {
  const RouteResult result = Route(verb::post, "/api/v1/core/contexts/a%2Fevents/events");
  const auto* match = std::get_if<RouteMatch>(&result);
  ASSERT_NE(match, nullptr) << Describe(result);
  EXPECT_EQ(match->route, RouteId::kContextEvents);
  EXPECT_EQ(match->path_id, "a/events");
}

TEST(RouterTest, EmptyIdSegmentIsPassedOnForTheHandlerToRefuse) {
  // The handler answers 400 for an invalid id; the router only must not crash or misroute.
  const RouteResult result = Route(verb::get, "/api/v1/core/contexts//events");
  if (const auto* match = std::get_if<RouteMatch>(&result)) {
    EXPECT_TRUE(match->path_id.empty());
  } else {
    EXPECT_TRUE(std::holds_alternative<NotFound>(result) ||
                std::holds_alternative<MethodNotAllowed>(result))
        << Describe(result);
  }
}

// ---- Query --------------------------------------------------------------------------------------

TEST(RouterTest, QueryIsReturnedRaw) {
  const RouteResult result =
      Route(verb::get, "/api/v1/stream/contexts?context_id=a%20b&last_event_id=0f3a9c21-4&x");
  const auto* match = std::get_if<RouteMatch>(&result);
  ASSERT_NE(match, nullptr) << Describe(result);
  EXPECT_EQ(match->route, RouteId::kStreamContexts);
  EXPECT_EQ(match->query, "context_id=a%20b&last_event_id=0f3a9c21-4&x");
}

TEST(RouterTest, QueryOnTheDashboard) {
  const RouteResult result = Route(verb::get, "/?token=abc");
  const auto* match = std::get_if<RouteMatch>(&result);
  ASSERT_NE(match, nullptr) << Describe(result);
  EXPECT_EQ(match->route, RouteId::kDashboard);
  EXPECT_EQ(match->query, "token=abc");
}

// ---- Not found ----------------------------------------------------------------------------------

class NotFoundTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NotFoundTest, UnknownPathIsNotFound) {
  const RouteResult result = Route(verb::get, GetParam());
  EXPECT_TRUE(std::holds_alternative<NotFound>(result)) << GetParam() << " -> " << Describe(result);
}

INSTANTIATE_TEST_SUITE_P(Paths, NotFoundTest,
                         ::testing::Values("/nope", "/api", "/api/v1", "/api/v1/stream",
                                           "/api/v2/stream/agui", "/api/v1/stream/agui/extra",
                                           "/API/v1/stream/agui", "/api/v1/stream/AGUI",
                                           "/api/v1/webhook", "/api/v1/core/contexts/x/y",
                                           "/api/v1/admin/users/u", "/healthz",
                                           "/api/v1/stream/agui%2F", "//", "/api/v1/../v1/health",
                                           // Trailing slashes only redirect under /api/.
                                           "/health/", "/metrics/", "/readyz/"));

// ---- Method not allowed -------------------------------------------------------------------------

struct MethodCase {
  verb method;
  std::string target;
  std::string allow;
};

class MethodNotAllowedTest : public ::testing::TestWithParam<MethodCase> {};

TEST_P(MethodNotAllowedTest, AnswersTheExactAllowHeader) {
  const MethodCase& c = GetParam();
  const RouteResult result = Route(c.method, c.target);
  const auto* refused = std::get_if<MethodNotAllowed>(&result);
  ASSERT_NE(refused, nullptr) << c.target << " -> " << Describe(result);
  EXPECT_EQ(refused->allow, c.allow);
}

INSTANTIATE_TEST_SUITE_P(
    Table, MethodNotAllowedTest,
    ::testing::Values(MethodCase{verb::post, "/api/v1/stream/agui", "GET"},
                      MethodCase{verb::head, "/api/v1/stream/a2a", "GET"},
                      MethodCase{verb::delete_, "/api/v1/stream/contexts", "GET"},
                      MethodCase{verb::get, "/api/v1/webhook/agui", "POST"},
                      MethodCase{verb::put, "/api/v1/webhook/a2a", "POST"},
                      MethodCase{verb::get, "/api/v1/events", "POST"},
                      MethodCase{verb::delete_, "/api/v1/core/contexts", "GET, POST"},
                      MethodCase{verb::post, "/api/v1/core/contexts/c1", "GET, PUT, DELETE"},
                      MethodCase{verb::patch, "/api/v1/core/contexts/c1", "GET, PUT, DELETE"},
                      MethodCase{verb::get, "/api/v1/core/contexts/c1/events", "POST"},
                      MethodCase{verb::post, "/api/v1/admin/users/u/connections", "GET, DELETE"},
                      MethodCase{verb::post, "/health", "GET, HEAD"},
                      MethodCase{verb::delete_, "/metrics", "GET, HEAD"},
                      MethodCase{verb::post, "/api/v1/metrics/history", "GET, HEAD"},
                      MethodCase{verb::options, "/readyz", "GET, HEAD"},
                      MethodCase{verb::post, "/", "GET, HEAD"},
                      MethodCase{verb::unknown, "/api/v1/stream/agui", "GET"}));

// ---- Trailing slashes ---------------------------------------------------------------------------

struct RedirectCase {
  verb method;
  std::string target;
  std::string location;
};

class RedirectTest : public ::testing::TestWithParam<RedirectCase> {};

TEST_P(RedirectTest, TrailingSlashOnApiPathRedirectsWithQueryKept) {
  const RedirectCase& c = GetParam();
  const RouteResult result = Route(c.method, c.target);
  const auto* redirect = std::get_if<Redirect>(&result);
  ASSERT_NE(redirect, nullptr) << c.target << " -> " << Describe(result);
  EXPECT_EQ(redirect->location, c.location);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RedirectTest,
    ::testing::Values(
        RedirectCase{verb::get, "/api/v1/stream/agui/?x=1", "/api/v1/stream/agui?x=1"},
        RedirectCase{verb::get, "/api/v1/stream/agui/", "/api/v1/stream/agui"},
        RedirectCase{verb::get, "/api/v1/stream/contexts/?context_id=a%20b&last_event_id=x",
                     "/api/v1/stream/contexts?context_id=a%20b&last_event_id=x"},
        RedirectCase{verb::post, "/api/v1/webhook/a2a/", "/api/v1/webhook/a2a"},
        RedirectCase{verb::get, "/api/v1/core/contexts/c%201/", "/api/v1/core/contexts/c%201"},
        RedirectCase{verb::get, "/api/v1/stream/agui//", "/api/v1/stream/agui"},
        // Unknown /api/ paths redirect too; the redirected request then gets its 404.
        RedirectCase{verb::get, "/api/v1/nope/", "/api/v1/nope"}));

TEST(RouterTest, RedirectLocationStaysOnThisHost) {
  for (const char* target : {"/api//", "/api///evil.example/", "/api/%2F%2Fevil.example/"}) {
    const RouteResult result = Route(verb::get, target);
    if (const auto* redirect = std::get_if<Redirect>(&result)) {
      EXPECT_TRUE(redirect->location.starts_with("/api")) << target << " -> " << redirect->location;
      EXPECT_FALSE(redirect->location.starts_with("//")) << target;
    }
  }
}

TEST(RouterTest, RedirectLocationCarriesNoRawLineBreaks) {
  const RouteResult result = Route(verb::get, "/api/v1/stream/agui/?a=%0D%0ASet-Cookie:x");
  const auto* redirect = std::get_if<Redirect>(&result);
  ASSERT_NE(redirect, nullptr) << Describe(result);
  EXPECT_EQ(redirect->location.find_first_of("\r\n"), std::string::npos);
}

// ---- Garbage ------------------------------------------------------------------------------------

class GarbageTargetTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GarbageTargetTest, IsBadTargetOrNotFoundNeverACrash) {
  for (verb method : {verb::get, verb::post}) {
    const RouteResult result = Route(method, GetParam());
    EXPECT_TRUE(std::holds_alternative<BadTarget>(result) ||
                std::holds_alternative<NotFound>(result))
        << GetParam() << " -> " << Describe(result);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Targets, GarbageTargetTest,
    ::testing::Values("*", "http://x/", "http://x/api/v1/stream/agui", "%zz", "/%zz", "/api/%",
                      "/api/v1/stream/agui%", "", "?", "?x=1", "api/v1/stream/agui", "/a b",
                      std::string("/\x01"), std::string("/health\0x", 9), "/\xff\xfe",
                      "/health#frag", "/health?x=%zz", std::string(8192, '/') + "health",
                      "/" + std::string(8192, 'a'), "/api/v1/core/contexts/%00/x/y"));

// ---- Helpers ------------------------------------------------------------------------------------

TEST(RouterTest, StreamRoutesOpenTheirStream) {
  EXPECT_TRUE(IsStreamRoute(RouteId::kStreamAgui));
  EXPECT_TRUE(IsStreamRoute(RouteId::kStreamA2a));
  EXPECT_TRUE(IsStreamRoute(RouteId::kStreamContexts));
  EXPECT_FALSE(IsStreamRoute(RouteId::kWebhookAgui));
  EXPECT_FALSE(IsStreamRoute(RouteId::kDashboard));
  EXPECT_EQ(StreamOf(RouteId::kStreamAgui), Stream::kAgui);
  EXPECT_EQ(StreamOf(RouteId::kStreamA2a), Stream::kA2a);
  EXPECT_EQ(StreamOf(RouteId::kStreamContexts), Stream::kContexts);
}

}  // namespace
}  // namespace herald::http
