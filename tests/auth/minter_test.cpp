#include "auth/minter.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "auth/base64url.h"
#include "auth/jwt_fixtures.h"
#include "auth/token_parts.h"
#include "auth/verifier.h"

namespace herald::auth {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): test helpers
using std::chrono::hours;
using std::chrono::seconds;

TEST(MintHs256Test, RoundTripsThroughVerifier) {
  const std::string token = MintHs256(kSecret, "alice", "events:publish admin", hours{1}, kNow);
  const Result<Claims> result = Verifier(Hs256Config()).Verify(token, kNow);
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  const auto& claims = (*result);
  EXPECT_EQ(claims.user, UserId("alice"));
  EXPECT_EQ(claims.scopes, (std::vector<std::string>{"events:publish", "admin"}));
  EXPECT_EQ(claims.expires_at, kNow + hours{1});
}

TEST(MintHs256Test, WritesStandardHeaderAndIat) {
  const std::string token =
      MintHs256(kSecret, "alice", "", seconds{60}, kNow + std::chrono::milliseconds{500});
  const auto parts = SplitToken(token);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->header.at("alg").as_string(), "HS256");
  EXPECT_EQ(parts->header.at("typ").as_string(), "JWT");
  EXPECT_EQ(parts->payload.at("iat").to_number<long>(), At(seconds{0}));
  EXPECT_EQ(parts->payload.at("exp").to_number<long>(), At(seconds{60}));
  EXPECT_FALSE(parts->payload.contains("scope"));
}

TEST(MintHs256Test, MintedTokenExpiresAfterTtlPlusLeeway) {
  const std::string token = MintHs256(kSecret, "alice", "", seconds{60}, kNow);
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(token, kNow + seconds{89})), std::nullopt);
  EXPECT_EQ(ErrorOf(verifier.Verify(token, kNow + seconds{90})), VerifyError::kExpired);
}

TEST(MintHs256Test, OtherSecretDoesNotVerify) {
  const std::string token = MintHs256("other", "alice", "", hours{1}, kNow);
  EXPECT_EQ(ErrorOf(Verifier(Hs256Config()).Verify(token, kNow)), VerifyError::kBadSignature);
}

TEST(MintHs256Test, RefusesBadArguments) {
  EXPECT_THROW(MintHs256("", "alice", "", hours{1}, kNow), std::invalid_argument);
  EXPECT_THROW(MintHs256(kSecret, "", "", hours{1}, kNow), std::invalid_argument);
  EXPECT_THROW(MintHs256(kSecret, "al\nice", "", hours{1}, kNow), std::invalid_argument);
  EXPECT_THROW(MintHs256(kSecret, std::string_view("al\0ice", 6), "", hours{1}, kNow),
               std::invalid_argument);
  EXPECT_THROW(MintHs256(kSecret, "alice", "admin\tx", hours{1}, kNow), std::invalid_argument);
  EXPECT_THROW(MintHs256(kSecret, "alice", "", seconds{0}, kNow), std::invalid_argument);
  EXPECT_THROW(MintHs256(kSecret, "alice", "", seconds{-5}, kNow), std::invalid_argument);
}

TEST(MintHs256Test, EscapesJsonSpecialCharactersInSubject) {
  const std::string sub = R"(we"ird\user/é)";
  const std::string token = MintHs256(kSecret, sub, "", hours{1}, kNow);
  const Result<Claims> result = Verifier(Hs256Config()).Verify(token, kNow);
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  EXPECT_EQ(result->user.str(), sub);
}

}  // namespace
}  // namespace herald::auth
