#include "auth/token_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/jwt_fixtures.h"
#include "auth/verifier.h"

namespace herald::auth {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): test helpers
using std::chrono::hours;
using std::chrono::seconds;

Claims AliceUntil(std::chrono::system_clock::time_point expires_at) {
  return Claims{UserId("alice"), {"admin"}, expires_at};
}

TEST(TokenCacheTest, AnswersATokenItHoldsWithItsClaims) {
  TokenCache cache(16, seconds{30});
  cache.Insert("token-a", AliceUntil(kNow + hours{1}), kNow);
  const auto found = cache.Find("token-a", kNow + seconds{5});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->user, UserId("alice"));
  EXPECT_TRUE(found->HasScope("admin"));
  EXPECT_EQ(found->expires_at, kNow + hours{1});
  EXPECT_FALSE(cache.Find("token-b", kNow).has_value());
  EXPECT_FALSE(cache.Find("token-", kNow).has_value());  // exact bytes, not a prefix
}

TEST(TokenCacheTest, ForgetsATokenAtItsExpiryPlusTheLeeway) {
  TokenCache cache(16, seconds{30});
  cache.Insert("token", AliceUntil(kNow + hours{1}), kNow);
  EXPECT_TRUE(cache.Find("token", kNow + hours{1} + seconds{29}).has_value());
  EXPECT_FALSE(cache.Find("token", kNow + hours{1} + seconds{30}).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCacheTest, AnswersNothingBeforeTheEarliestTimeTheTokenVerified) {
  TokenCache cache(16, seconds{0});
  cache.Insert("token", AliceUntil(kNow + hours{1}), kNow);
  EXPECT_FALSE(cache.Find("token", kNow - seconds{1}).has_value());
  cache.Insert("token", AliceUntil(kNow + hours{1}), kNow - seconds{10});  // verified then too
  EXPECT_TRUE(cache.Find("token", kNow - seconds{1}).has_value());
  EXPECT_FALSE(cache.Find("token", kNow - seconds{11}).has_value());
}

TEST(TokenCacheTest, HoldsAtMostItsCapacity) {
  TokenCache cache(3, seconds{30});
  for (int i = 0; i < 5; ++i) {
    cache.Insert("token-" + std::to_string(i), AliceUntil(kNow + hours{1}), kNow);
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.Find("token-4", kNow).has_value());  // the newest is always kept
}

TEST(TokenCacheTest, CachesNothingWithCapacityZeroNorTokensOverTheSizeLimit) {
  TokenCache none(0, seconds{30});
  none.Insert("token", AliceUntil(kNow + hours{1}), kNow);
  EXPECT_EQ(none.size(), 0u);
  TokenCache cache(16, seconds{30});
  cache.Insert(std::string(TokenCache::kMaxTokenBytes + 1, 'a'), AliceUntil(kNow + hours{1}), kNow);
  EXPECT_EQ(cache.size(), 0u);
  cache.Insert(std::string(TokenCache::kMaxTokenBytes, 'a'), AliceUntil(kNow + hours{1}), kNow);
  EXPECT_EQ(cache.size(), 1u);
}

// The cache's promise: a verifier that remembers tokens answers exactly as one that verifies
// every time, whatever order the times come in.
TEST(TokenCacheTest, ACachingVerifierAnswersAsOneThatVerifiesEveryTime) {
  VerifierConfig uncached_config = Hs256Config();
  uncached_config.cache_entries = 0;
  const Verifier uncached(uncached_config);
  const Verifier cached(Hs256Config());
  const std::string token = CraftHs256(
      R"({"alg":"HS256","typ":"JWT"})",
      ClaimsJson(",\"nbf\":" + std::to_string(At(seconds{60})) + ",\"scope\":\"admin\""));
  const std::vector<seconds> offsets = {seconds{100},  seconds{0},    seconds{30},   seconds{29},
                                        seconds{3629}, seconds{3630}, seconds{7200}, seconds{1000},
                                        seconds{-100}, seconds{40},   seconds{35},   seconds{3629},
                                        seconds{3600}, seconds{31},   seconds{30}};
  for (const seconds offset : offsets) {
    const Result<Claims> want = uncached.Verify(token, kNow + offset);
    const Result<Claims> got = cached.Verify(token, kNow + offset);
    ASSERT_EQ(ErrorOf(got), ErrorOf(want)) << "at kNow + " << offset.count() << " s";
    if (!ErrorOf(want)) {
      EXPECT_EQ(got->user, want->user);
      EXPECT_EQ(got->scopes, want->scopes);
      EXPECT_EQ(got->expires_at, want->expires_at);
    }
  }
  EXPECT_EQ(uncached.cached_tokens(), 0u);
}

TEST(TokenCacheTest, OnlyAcceptedTokensAreRemembered) {
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"HS256"})", ClaimsJson(), "other secret"),
                                    kNow)),
            VerifyError::kBadSignature);
  EXPECT_EQ(
      ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"HS256"})", ClaimsJson()), kNow + hours{2})),
      VerifyError::kExpired);
  EXPECT_EQ(verifier.cached_tokens(), 0u);
  const std::string good = CraftHs256(R"({"alg":"HS256"})", ClaimsJson());
  ASSERT_EQ(ErrorOf(verifier.Verify(good, kNow)), std::nullopt);
  ASSERT_EQ(ErrorOf(verifier.Verify(good, kNow)), std::nullopt);
  EXPECT_EQ(verifier.cached_tokens(), 1u);
  // A tampered copy of a remembered token is checked, not matched.
  std::string tampered = good;
  char& in_signature = tampered[tampered.size() - 10];
  in_signature = in_signature == 'A' ? 'B' : 'A';
  EXPECT_EQ(ErrorOf(verifier.Verify(tampered, kNow)), VerifyError::kBadSignature);
}

}  // namespace
}  // namespace herald::auth
