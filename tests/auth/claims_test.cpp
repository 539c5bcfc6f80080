// Registered-claim checks, end to end through an HS256 Verifier with libjwt-signed tokens.
#include "auth/claims.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/jwt_fixtures.h"
#include "auth/verifier.h"

namespace herald::auth {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): test helpers
using std::chrono::hours;
using std::chrono::seconds;

Result<Claims> VerifyGrants(const std::string& grants, VerifierConfig config = Hs256Config()) {
  return Verifier(std::move(config)).Verify(SignWithLibjwt("HS256", kSecret, grants), kNow);
}

std::string WithExp(seconds offset, std::string_view extra = "") {
  return R"({"sub":"alice","exp":)" + std::to_string(At(offset)) + std::string(extra) + "}";
}

std::string Field(std::string_view name, std::chrono::seconds offset) {
  return ",\"" + std::string(name) + "\":" + std::to_string(At(offset));
}

// ---- exp / nbf / leeway --------------------------------------------------------------------

TEST(ClaimsTest, RejectsTokenExpiredBeyondLeeway) {
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(seconds{-31}))), VerifyError::kExpired);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(seconds{-30}))), VerifyError::kExpired);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(-hours{24}))), VerifyError::kExpired);
}

TEST(ClaimsTest, AcceptsTokenExpiredWithinLeeway) {
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(seconds{-29}))), std::nullopt);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(seconds{0}))), std::nullopt);
}

TEST(ClaimsTest, RejectsTokenNotYetValidBeyondLeeway) {
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(hours{1}, Field("nbf", seconds{31})))),
            VerifyError::kNotYetValid);
}

TEST(ClaimsTest, AcceptsNbfWithinLeewayOrPast) {
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(hours{1}, Field("nbf", seconds{30})))), std::nullopt);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(hours{1}, Field("nbf", seconds{-600})))), std::nullopt);
}

TEST(ClaimsTest, ZeroLeewayIsExact) {
  VerifierConfig config = Hs256Config();
  config.leeway = seconds{0};
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(seconds{0}), config)), VerifyError::kExpired);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(seconds{1}), config)), std::nullopt);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(hours{1}, Field("nbf", seconds{1})), config)),
            VerifyError::kNotYetValid);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(hours{1}, Field("nbf", seconds{0})), config)),
            std::nullopt);
}

TEST(ClaimsTest, RequiresExp) {
  EXPECT_EQ(ErrorOf(VerifyGrants(R"({"sub":"alice"})")), VerifyError::kMissingExpiry);
  EXPECT_EQ(ErrorOf(VerifyGrants(R"({"sub":"alice","nbf":1})")), VerifyError::kMissingExpiry);
}

TEST(ClaimsTest, RejectsNonNumericExpOrNbfAsMalformed) {
  EXPECT_EQ(ErrorOf(VerifyGrants(R"({"sub":"alice","exp":"4000000000"})")),
            VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(VerifyGrants(R"({"sub":"alice","exp":null})")), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(hours{1}, R"(,"nbf":true)"))), VerifyError::kMalformed);
}

TEST(ClaimsTest, AcceptsFractionalExp) {
  const Result<Claims> result =
      VerifyGrants(R"({"sub":"alice","exp":)" + std::to_string(At(hours{1})) + ".75}");
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  EXPECT_EQ(result->expires_at, kNow + hours{1});
}

TEST(ClaimsTest, ClampsHugeExpWithoutOverflow) {
  for (const char* exp : {"9223372036854775807", "1e300"}) {
    const Result<Claims> result = VerifyGrants(std::string(R"({"sub":"alice","exp":)") + exp + "}");
    ASSERT_EQ(ErrorOf(result), std::nullopt) << exp;
    EXPECT_GT(result->expires_at, kNow + hours{24 * 365 * 50}) << exp;
  }
  // libjwt parses the payload with Jansson, whose integers are int64: a correctly signed token
  // with a larger integer anywhere cannot be checked, and is refused saying so.
  const std::string beyond_int64 =
      CraftHs256(R"({"alg":"HS256"})", R"({"sub":"alice","exp":18446744073709551615})");
  EXPECT_EQ(ErrorOf(Verifier(Hs256Config()).Verify(beyond_int64, kNow)),
            VerifyError::kUnverifiableClaims);
  EXPECT_EQ(ErrorOf(VerifyGrants(R"({"sub":"alice","exp":-9223372036854775807})")),
            VerifyError::kExpired);
  EXPECT_EQ(ErrorOf(VerifyGrants(WithExp(hours{1}, R"(,"nbf":1e300)"))), VerifyError::kNotYetValid);
}

TEST(ClaimsTest, ReportsExpiresAtFromExp) {
  const Result<Claims> result = VerifyGrants(WithExp(seconds{1234}));
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  EXPECT_EQ(result->expires_at, kNow + seconds{1234});
}

// ---- sub -----------------------------------------------------------------------------------

TEST(ClaimsTest, RequiresSubject) {
  EXPECT_EQ(ErrorOf(VerifyGrants(R"({"exp":)" + std::to_string(At(hours{1})) + "}")),
            VerifyError::kMissingSubject);
}

TEST(ClaimsTest, RejectsSubjectThatIsNotAValidClientId) {
  const std::string exp = std::to_string(At(hours{1}));
  for (const std::string& sub :
       {std::string(R"("al\u0001ice")"), std::string(R"("line\nbreak")"), std::string(R"("")"),
        std::string(R"("del\u007f")"), std::string("42"), std::string(R"(["alice"])"),
        "\"" + std::string(kMaxIdBytes + 1, 'a') + "\""}) {
    EXPECT_EQ(ErrorOf(VerifyGrants(R"({"sub":)" + sub + R"(,"exp":)" + exp + "}")),
              VerifyError::kMissingSubject)
        << sub;
  }
}

TEST(ClaimsTest, AcceptsSubjectOfMaximumLengthAndUnicode) {
  const std::string exp = std::to_string(At(hours{1}));
  const std::string longest(kMaxIdBytes, 'a');
  const Result<Claims> result = VerifyGrants(R"({"sub":")" + longest + R"(","exp":)" + exp + "}");
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  EXPECT_EQ(result->user.str(), longest);
  const Result<Claims> unicode = VerifyGrants(R"({"sub":"zoë","exp":)" + exp + "}");
  ASSERT_EQ(ErrorOf(unicode), std::nullopt);
  EXPECT_EQ(unicode->user.str(), "zoë");
}

// ---- iss / aud -----------------------------------------------------------------------------

VerifierConfig WithIssuerAndAudience(std::string issuer, std::string audience) {
  VerifierConfig config = Hs256Config();
  config.issuer = std::move(issuer);
  config.audience = std::move(audience);
  return config;
}

TEST(ClaimsTest, ChecksIssuerWhenConfigured) {
  const VerifierConfig config = WithIssuerAndAudience("https://id.example", "");
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"iss":"https://id.example")"), config)),
            std::nullopt);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"iss":"https://evil.example")"), config)),
            VerifyError::kBadIssuer);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"iss":"HTTPS://ID.EXAMPLE")"), config)),
            VerifyError::kBadIssuer);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"iss":["https://id.example"])"), config)),
            VerifyError::kBadIssuer);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(), config)), VerifyError::kBadIssuer);
}

TEST(ClaimsTest, IgnoresIssuerAndAudienceWhenNotConfigured) {
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"iss":"anyone","aud":7)"))), std::nullopt);
}

TEST(ClaimsTest, AcceptsAudienceAsStringOrArrayMember) {
  const VerifierConfig config = WithIssuerAndAudience("", "herald");
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"aud":"herald")"), config)), std::nullopt);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"aud":["other","herald"])"), config)),
            std::nullopt);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"aud":[1,null,"herald"])"), config)), std::nullopt);
}

TEST(ClaimsTest, RejectsAudienceMissingOrNotListed) {
  const VerifierConfig config = WithIssuerAndAudience("", "herald");
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(), config)), VerifyError::kBadAudience);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"aud":"other")"), config)),
            VerifyError::kBadAudience);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"aud":["other","heraldx"])"), config)),
            VerifyError::kBadAudience);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"aud":[])"), config)), VerifyError::kBadAudience);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"aud":{"herald":true})"), config)),
            VerifyError::kBadAudience);
}

TEST(ClaimsTest, ChecksIssuerAndAudienceTogether) {
  const VerifierConfig config = WithIssuerAndAudience("idp", "herald");
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"iss":"idp","aud":"herald")"), config)),
            std::nullopt);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"iss":"idp","aud":"x")"), config)),
            VerifyError::kBadAudience);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"iss":"x","aud":"herald")"), config)),
            VerifyError::kBadIssuer);
}

// ---- scope ---------------------------------------------------------------------------------

std::vector<std::string> ScopesOf(std::string_view scope_json) {
  const Result<Claims> result = VerifyGrants(ClaimsJson(R"(,"scope":)" + std::string(scope_json)));
  EXPECT_EQ(ErrorOf(result), std::nullopt) << scope_json;
  if (ErrorOf(result)) return {};
  return result->scopes;
}

TEST(ClaimsTest, SplitsScopeOnSpaces) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ScopesOf(R"("events:publish admin")"), (V{"events:publish", "admin"}));
  EXPECT_EQ(ScopesOf(R"("  events:publish    admin ")"), (V{"events:publish", "admin"}));
  EXPECT_EQ(ScopesOf(R"("admin")"), (V{"admin"}));
  EXPECT_EQ(ScopesOf(R"("")"), V{});
  EXPECT_EQ(ScopesOf(R"("   ")"), V{});
}

TEST(ClaimsTest, HasNoScopesWithoutScopeClaim) {
  const Result<Claims> result = VerifyGrants(ClaimsJson());
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  EXPECT_TRUE(result->scopes.empty());
  EXPECT_FALSE(result->HasScope("admin"));
}

TEST(ClaimsTest, RejectsNonStringScopeAsMalformed) {
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"scope":["admin"])"))), VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(VerifyGrants(ClaimsJson(R"(,"scope":1)"))), VerifyError::kMalformed);
}

TEST(ClaimsTest, HasScopeMatchesWholeScopesOnly) {
  Claims claims;
  claims.scopes = {"events:publish", "admin"};
  EXPECT_TRUE(claims.HasScope("admin"));
  EXPECT_TRUE(claims.HasScope("events:publish"));
  EXPECT_FALSE(claims.HasScope("admi"));
  EXPECT_FALSE(claims.HasScope("events"));
  EXPECT_FALSE(claims.HasScope("ADMIN"));
  EXPECT_FALSE(claims.HasScope(""));
}

}  // namespace
}  // namespace herald::auth
