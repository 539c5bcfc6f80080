#include "http/authenticate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/minter.h"

namespace herald::http {
namespace {

namespace beast_http = boost::beast::http;
using std::chrono::seconds;

const std::chrono::system_clock::time_point kNow{seconds{1'700'000'000}};
constexpr std::string_view kSecret = "authenticate-test-secret-0123456789abcdef";

// A GET request with the given headers, in that order.
Request MakeRequest(std::vector<std::pair<beast_http::field, std::string>> headers = {}) {
  Request request{beast_http::verb::get, "/api/v1/stream/agui", 11};
  for (auto& [name, value] : headers) request.insert(name, value);
  return request;
}

std::optional<std::string> Extract(const Request& request, std::string_view query = "",
                                   bool allow_query = false) {
  return ExtractToken(request, query, allow_query);
}

// ---- Authorization header -----------------------------------------------------------------------

struct HeaderCase {
  std::string authorization;
  std::optional<std::string> token;
};

class BearerHeaderTest : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(BearerHeaderTest, ExtractsTheBearerTokenOnly) {
  // A cookie is present too: another scheme must not fall through to it.
  const Request request = MakeRequest({{beast_http::field::authorization, GetParam().authorization},
                                       {beast_http::field::cookie, "access_token=from-cookie"}});
  EXPECT_EQ(Extract(request, "access_token=from-query", true), GetParam().token)
      << GetParam().authorization;
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, BearerHeaderTest,
    ::testing::Values(HeaderCase{"Bearer abc.def.ghi", "abc.def.ghi"},
                      HeaderCase{"bearer abc", "abc"}, HeaderCase{"BEARER abc", "abc"},
                      HeaderCase{"BeArEr abc", "abc"}, HeaderCase{"Bearer    abc  ", "abc"},
                      HeaderCase{"  Bearer abc", "abc"},
                      HeaderCase{"Basic dXNlcjpwYXNz", std::nullopt},
                      HeaderCase{"Token abc", std::nullopt}, HeaderCase{"Bearerabc", std::nullopt},
                      HeaderCase{"Bearer", std::nullopt}, HeaderCase{"Bearer    ", std::nullopt},
                      HeaderCase{"", std::nullopt}, HeaderCase{"abc.def.ghi", std::nullopt}));

// ---- Cookie -------------------------------------------------------------------------------------

struct CookieCase {
  std::string cookie;
  std::optional<std::string> token;
};

class CookieTest : public ::testing::TestWithParam<CookieCase> {};

TEST_P(CookieTest, FindsTheAccessTokenCookie) {
  const Request request = MakeRequest({{beast_http::field::cookie, GetParam().cookie}});
  EXPECT_EQ(Extract(request), GetParam().token) << GetParam().cookie;
}

INSTANTIATE_TEST_SUITE_P(
    Values, CookieTest,
    ::testing::Values(CookieCase{"access_token=tok", "tok"},
                      CookieCase{"theme=dark; access_token=tok; lang=en", "tok"},
                      CookieCase{"theme=dark;access_token=tok", "tok"},
                      CookieCase{"access_token=\"quoted.tok\"", "quoted.tok"},
                      CookieCase{"a=1;  access_token = tok ;b=2", "tok"},
                      CookieCase{"my_access_token=x; access_token_2=y", std::nullopt},
                      CookieCase{"access_token=; other=1", std::nullopt},
                      CookieCase{"access_token", std::nullopt},
                      CookieCase{"access_token=\"\"", std::nullopt}, CookieCase{"", std::nullopt},
                      CookieCase{";;;", std::nullopt},
                      CookieCase{"access_token=first; access_token=second", "first"},
                      CookieCase{"access_token=; access_token=second", "second"},
                      CookieCase{"x=\"; access_token=tok", "tok"}));

TEST(AuthenticateTest, CookieInALaterCookieHeaderIsFound) {
  const Request request = MakeRequest(
      {{beast_http::field::cookie, "theme=dark"}, {beast_http::field::cookie, "access_token=tok"}});
  EXPECT_EQ(Extract(request), "tok");
}

TEST(AuthenticateTest, CookieHeadersSeparatedByAnotherHeaderAreAllSearched) {
  const Request request = MakeRequest({{beast_http::field::cookie, "theme=dark"},
                                       {beast_http::field::user_agent, "test"},
                                       {beast_http::field::cookie, "access_token=tok"}});
  EXPECT_EQ(Extract(request), "tok");
}

// ---- Query --------------------------------------------------------------------------------------

TEST(AuthenticateTest, QueryTokenOnlyWhenAllowed) {
  const Request request = MakeRequest();
  EXPECT_EQ(Extract(request, "access_token=q.tok", false), std::nullopt);
  EXPECT_EQ(Extract(request, "access_token=q.tok", true), "q.tok");
}

struct QueryCase {
  std::string query;
  std::optional<std::string> token;
};

class QueryTokenTest : public ::testing::TestWithParam<QueryCase> {};

TEST_P(QueryTokenTest, FindsTheDecodedParameter) {
  EXPECT_EQ(Extract(MakeRequest(), GetParam().query, true), GetParam().token) << GetParam().query;
}

INSTANTIATE_TEST_SUITE_P(
    Values, QueryTokenTest,
    ::testing::Values(QueryCase{"access_token=abc", "abc"},
                      QueryCase{"context_id=c1&access_token=abc&x=y", "abc"},
                      QueryCase{"access_token=a%2Eb%2Dc", "a.b-c"},
                      QueryCase{"access_token=a%20b", "a b"},
                      QueryCase{"access_token", std::nullopt},
                      QueryCase{"my_access_token=abc", std::nullopt}, QueryCase{"", std::nullopt},
                      QueryCase{"&&&", std::nullopt}, QueryCase{"access_token=%zz", std::nullopt},
                      QueryCase{"access_token=first&access_token=second", "first"}));

// ---- Precedence (spec §2) -----------------------------------------------------------------------

TEST(AuthenticateTest, HeaderWinsOverCookieAndQuery) {
  const Request request = MakeRequest({{beast_http::field::cookie, "access_token=from-cookie"},
                                       {beast_http::field::authorization, "Bearer from-header"}});
  EXPECT_EQ(Extract(request, "access_token=from-query", true), "from-header");
}

TEST(AuthenticateTest, CookieWinsOverQuery) {
  const Request request = MakeRequest({{beast_http::field::cookie, "access_token=from-cookie"}});
  EXPECT_EQ(Extract(request, "access_token=from-query", true), "from-cookie");
}

TEST(AuthenticateTest, NoTokenAnywhereIsNone) {
  const Request request = MakeRequest({{beast_http::field::cookie, "theme=dark"}});
  EXPECT_EQ(Extract(request, "x=1", true), std::nullopt);
}

// ---- Authenticate -------------------------------------------------------------------------------

class AuthenticateVerifyTest : public ::testing::Test {
 protected:
  static auth::VerifierConfig Config() {
    auth::VerifierConfig config;
    config.algorithm = auth::Algorithm::kHs256;
    config.hs256_secret = std::string(kSecret);
    return config;
  }

  Result<auth::Claims> Run(const Request& request, std::string_view query = "",
                           bool allow_query = false) const {
    return Authenticate(request, query, verifier_, allow_query, kNow);
  }

  static Request WithBearer(const std::string& token) {
    return MakeRequest({{beast_http::field::authorization, "Bearer " + token}});
  }

  const auth::Verifier verifier_{Config()};
};

TEST_F(AuthenticateVerifyTest, ValidTokenGivesItsClaims) {
  const std::string token =
      auth::MintHs256(kSecret, "alice", "events:publish admin", seconds(600), kNow);
  const auto result = Run(WithBearer(token));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  const auth::Claims* claims = &*result;
  EXPECT_EQ(claims->user, UserId("alice"));
  EXPECT_TRUE(claims->HasScope("events:publish"));
  EXPECT_TRUE(claims->HasScope("admin"));
  EXPECT_EQ(claims->expires_at, kNow + seconds(600));
}

TEST_F(AuthenticateVerifyTest, ValidTokenFromCookieAndFromAllowedQuery) {
  const std::string token = auth::MintHs256(kSecret, "bob", "", seconds(60), kNow);
  const auto from_cookie =
      Run(MakeRequest({{beast_http::field::cookie, "theme=dark; access_token=" + token}}));
  ASSERT_TRUE(from_cookie.has_value());
  EXPECT_EQ(from_cookie->user, UserId("bob"));

  const auto from_query = Run(MakeRequest(), "access_token=" + token, true);
  ASSERT_TRUE(from_query.has_value());
  EXPECT_EQ(from_query->user, UserId("bob"));

  const auto query_not_allowed = Run(MakeRequest(), "access_token=" + token, false);
  ASSERT_TRUE(query_not_allowed.has_error());
  EXPECT_EQ(query_not_allowed.error().code, ErrorCode::kUnauthorized);
}

TEST_F(AuthenticateVerifyTest, MissingTokenIsUnauthorized) {
  const auto result = Run(MakeRequest());
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(HttpStatus(result.error().code), 401);
}

TEST_F(AuthenticateVerifyTest, InvalidTokensAreUnauthorized) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", "not-a-jwt"},
      {"wrong secret",
       auth::MintHs256("another-secret-0123456789abcdef0123", "alice", "", seconds(60), kNow)},
      {"expired", auth::MintHs256(kSecret, "alice", "", seconds(60), kNow - std::chrono::hours(1))},
      {"truncated", auth::MintHs256(kSecret, "alice", "", seconds(60), kNow).substr(0, 40)},
  };
  for (const auto& [name, token] : cases) {
    const auto result = Run(WithBearer(token));
    ASSERT_TRUE(result.has_error()) << name;
    EXPECT_EQ(result.error().code, ErrorCode::kUnauthorized) << name;
    EXPECT_EQ(result.error().message.find(token), std::string::npos)
        << name << ": the token is not echoed";
  }
}

TEST_F(AuthenticateVerifyTest, ABadHeaderTokenIsNotRescuedByAGoodCookie) {
  const std::string good = auth::MintHs256(kSecret, "alice", "", seconds(60), kNow);
  const Request request = MakeRequest({{beast_http::field::authorization, "Bearer bad"},
                                       {beast_http::field::cookie, "access_token=" + good}});
  const auto result = Run(request);
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().code, ErrorCode::kUnauthorized);
}

}  // namespace
}  // namespace herald::http
