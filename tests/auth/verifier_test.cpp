#include "auth/verifier.h"

#include <gtest/gtest.h>
#include <jwt.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "auth/base64url.h"
#include "auth/jwt_fixtures.h"

namespace herald::auth {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): test helpers
using std::chrono::hours;
using std::chrono::seconds;

constexpr const char* kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

// ---- Refusals in the one error vocabulary ----------------------------------------------------

TEST(VerifierTest, ARefusalIsUnauthorizedNamingTheReasonItKeepsAsItsCause) {
  const Verifier verifier(Hs256Config());
  const Result<Claims> result =
      verifier.Verify(CraftHs256(R"({"alg":"HS256"})", ClaimsJson(), "other secret"), kNow);
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(result.error().message, "Invalid token: invalid token signature");
  EXPECT_EQ(result.error().cause, VerifyError::kBadSignature);
  EXPECT_EQ(result.error().cause.message(), "invalid token signature");
  EXPECT_STREQ(result.error().cause.category().name(), "herald.auth");
}

TEST(VerifierTest, OnlyARefusalHasAVerifyReason) {
  EXPECT_EQ(ReasonOf(Refusal(VerifyError::kMalformed)), VerifyError::kMalformed);
  EXPECT_TRUE(Refusal(VerifyError::kMalformed).cause) << "kMalformed is not error_code 0";
  EXPECT_EQ(ReasonOf(Error{ErrorCode::kUnauthorized, "A bearer token is required."}), std::nullopt);
}

// ---- Good tokens --------------------------------------------------------------------------

TEST(VerifierTest, AcceptsHs256TokenSignedByLibjwt) {
  const Verifier verifier(Hs256Config());
  const Result<Claims> result =
      verifier.Verify(SignWithLibjwt("HS256", kSecret, ClaimsJson(R"(,"scope":"admin")")), kNow);
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  const auto& claims = (*result);
  EXPECT_EQ(claims.user, UserId("alice"));
  EXPECT_EQ(claims.expires_at, kNow + hours{1});
  EXPECT_TRUE(claims.HasScope("admin"));
}

TEST(VerifierTest, AcceptsRs256TokenWithDefaultKey) {
  const Verifier verifier(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}}));
  const Result<Claims> result =
      verifier.Verify(SignWithLibjwt("RS256", Rsa2048().private_pem, ClaimsJson()), kNow);
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  EXPECT_EQ(result->user, UserId("alice"));
}

TEST(VerifierTest, AcceptsEs256TokenWithDefaultKey) {
  const Verifier verifier(KeyConfig(Algorithm::kEs256, {{"", EcP256().public_pem}}));
  const Result<Claims> result =
      verifier.Verify(SignWithLibjwt("ES256", EcP256().private_pem, ClaimsJson()), kNow);
  ASSERT_EQ(ErrorOf(result), std::nullopt);
  EXPECT_EQ(result->user, UserId("alice"));
}

TEST(VerifierTest, AcceptsKeyConfiguredAsCertificate) {
  const Verifier rs(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().certificate_pem}}));
  EXPECT_EQ(ErrorOf(rs.Verify(SignWithLibjwt("RS256", Rsa2048().private_pem, ClaimsJson()), kNow)),
            std::nullopt);
  const Verifier es(KeyConfig(Algorithm::kEs256, {{"", EcP256().certificate_pem}}));
  EXPECT_EQ(ErrorOf(es.Verify(SignWithLibjwt("ES256", EcP256().private_pem, ClaimsJson()), kNow)),
            std::nullopt);
}

TEST(VerifierTest, AcceptsHeaderWithoutTypOrWithLowercaseTyp) {
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"HS256"})", ClaimsJson()), kNow)),
            std::nullopt);
  EXPECT_EQ(
      ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"HS256","typ":"jwt"})", ClaimsJson()), kNow)),
      std::nullopt);
}

// ---- Signatures ----------------------------------------------------------------------------

TEST(VerifierTest, RejectsHs256TokenSignedWithAnotherSecret) {
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(SignWithLibjwt("HS256", "another secret", ClaimsJson()), kNow)),
            VerifyError::kBadSignature);
}

TEST(VerifierTest, RejectsRs256AndEs256TokensSignedByAnotherKey) {
  const Verifier rs(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}}));
  EXPECT_EQ(
      ErrorOf(rs.Verify(SignWithLibjwt("RS256", OtherRsa2048().private_pem, ClaimsJson()), kNow)),
      VerifyError::kBadSignature);
  const Verifier es(KeyConfig(Algorithm::kEs256, {{"", EcP256().public_pem}}));
  EXPECT_EQ(
      ErrorOf(es.Verify(SignWithLibjwt("ES256", OtherEcP256().private_pem, ClaimsJson()), kNow)),
      VerifyError::kBadSignature);
}

TEST(VerifierTest, RejectsTokenWhosePayloadWasSwappedAfterSigning) {
  const Verifier verifier(Hs256Config());
  const std::string token = SignWithLibjwt("HS256", kSecret, ClaimsJson());
  const std::string forged = token.substr(0, token.find('.') + 1) +
                             EncodeBase64Url(R"({"sub":"admin","exp":4000000000})") +
                             token.substr(token.rfind('.'));
  EXPECT_EQ(ErrorOf(verifier.Verify(forged, kNow)), VerifyError::kBadSignature);
}

TEST(VerifierTest, RejectsEmptyOrTruncatedSignature) {
  const Verifier verifier(Hs256Config());
  const std::string token = SignWithLibjwt("HS256", kSecret, ClaimsJson());
  const std::string unsigned_token = token.substr(0, token.rfind('.') + 1);
  EXPECT_EQ(ErrorOf(verifier.Verify(unsigned_token, kNow)), VerifyError::kBadSignature);
  EXPECT_EQ(ErrorOf(verifier.Verify(token.substr(0, token.size() - 4), kNow)),
            VerifyError::kBadSignature);
}

TEST(VerifierTest, ChecksSignatureBeforeClaimsSoForgeriesLearnNothing) {
  const Verifier verifier(Hs256Config());
  const std::string expired_and_forged = SignWithLibjwt("HS256", "another secret", R"({"exp":1})");
  EXPECT_EQ(ErrorOf(verifier.Verify(expired_and_forged, kNow)), VerifyError::kBadSignature);
}

// ---- Algorithm confusion -------------------------------------------------------------------

TEST(VerifierTest, RejectsHs256TokenKeyedWithThePublicKeyPemAtRs256Verifier) {
  const Verifier verifier(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}}));
  const std::string forged = SignWithLibjwt("HS256", Rsa2048().public_pem, ClaimsJson());
  EXPECT_EQ(ErrorOf(verifier.Verify(forged, kNow)), VerifyError::kWrongAlgorithm);
}

// Documents why the verifier checks "alg" itself: libjwt 1.x verifies with the token's alg.
TEST(VerifierTest, LibjwtAloneWouldAcceptTheKeyConfusionForgery) {
  const std::string forged = SignWithLibjwt("HS256", Rsa2048().public_pem, ClaimsJson());
  jwt_t* jwt = nullptr;
  const int rc = jwt_decode(&jwt, forged.c_str(),
                            reinterpret_cast<const unsigned char*>(Rsa2048().public_pem.data()),
                            static_cast<int>(Rsa2048().public_pem.size()));
  jwt_free(jwt);
  EXPECT_EQ(rc, 0);
}

TEST(VerifierTest, RejectsTokensOfAnotherConfiguredAlgorithm) {
  const Verifier hs(Hs256Config());
  EXPECT_EQ(ErrorOf(hs.Verify(SignWithLibjwt("RS256", Rsa2048().private_pem, ClaimsJson()), kNow)),
            VerifyError::kWrongAlgorithm);
  const Verifier rs(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}}));
  EXPECT_EQ(ErrorOf(rs.Verify(SignWithLibjwt("ES256", EcP256().private_pem, ClaimsJson()), kNow)),
            VerifyError::kWrongAlgorithm);
  const Verifier es(KeyConfig(Algorithm::kEs256, {{"", EcP256().public_pem}}));
  EXPECT_EQ(ErrorOf(es.Verify(SignWithLibjwt("RS256", Rsa2048().private_pem, ClaimsJson()), kNow)),
            VerifyError::kWrongAlgorithm);
  EXPECT_EQ(ErrorOf(hs.Verify(SignWithLibjwt("HS512", kSecret, ClaimsJson()), kNow)),
            VerifyError::kWrongAlgorithm);
}

TEST(VerifierTest, RejectsAlgNoneInEverySpellingWithOrWithoutSignature) {
  const Verifier hs(Hs256Config());
  const Verifier rs(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}}));
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})";
    for (const std::string& token :
         {Craft(header, ClaimsJson(), ""), Craft(header, ClaimsJson(), "x"),
          CraftHs256(header, ClaimsJson())}) {
      EXPECT_EQ(ErrorOf(hs.Verify(token, kNow)), VerifyError::kWrongAlgorithm) << token;
      EXPECT_EQ(ErrorOf(rs.Verify(token, kNow)), VerifyError::kWrongAlgorithm) << token;
    }
  }
}

// libjwt's JSON parser cannot read these claims, so it cannot check the signature: the error says
// why, instead of calling a correctly signed token's signature invalid.
TEST(VerifierTest, ClaimsLibjwtCannotReadAreNamedNotCalledABadSignature) {
  const Verifier verifier(Hs256Config());
  // The last three were found by the jwt fuzzer: integer literals beyond uint64 or below int64
  // (Boost.JSON reads them as doubles), and a duplicate key whose first value overflows (Boost
  // keeps the last value, jansson fails on the first).
  for (const char* extra :
       {R"("iat":18446744073709551615)", R"("n":1e400)", R"("note":"a\u0000b")", R"("a\u0000":1)",
        R"("deep":[{"x":-1e999}])", R"("n":99999999999999999999)", R"("n":-9223372036854775809)",
        R"("n":1e400,"n":1)"}) {
    const std::string claims = ClaimsJson("," + std::string(extra));
    EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"HS256"})", claims), kNow)),
              VerifyError::kUnverifiableClaims)
        << extra;
  }
  // Values jansson reads are fine: the largest int64, a large but finite number.
  const std::string fine =
      ClaimsJson(R"(,"i":9223372036854775807,"j":-9223372036854775808,"d":1e300,"e":2E3)");
  EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"HS256"})", fine), kNow)), std::nullopt);
}

TEST(VerifierTest, ComparesAlgExactlyNotIgnoringCase) {
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"hs256"})", ClaimsJson()), kNow)),
            VerifyError::kWrongAlgorithm);
}

TEST(VerifierTest, RejectsHeaderWithoutStringAlgAsMalformed) {
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(R"({"typ":"JWT"})", ClaimsJson()), kNow)),
            VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(R"({"alg":["HS256"]})", ClaimsJson()), kNow)),
            VerifyError::kMalformed);
}

TEST(VerifierTest, RejectsDuplicateAlgWhicheverCopyAParserKeeps) {
  const Verifier rs(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}}));
  for (const char* header :
       {R"({"alg":"RS256","alg":"HS256"})", R"({"alg":"HS256","alg":"RS256"})"}) {
    const std::string forged = CraftHs256(header, ClaimsJson(), Rsa2048().public_pem);
    EXPECT_NE(ErrorOf(rs.Verify(forged, kNow)), std::nullopt) << header;
  }
}

TEST(VerifierTest, RejectsCriticalHeaderExtensionsAndForeignTyp) {
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(
                CraftHs256(R"({"alg":"HS256","crit":["exp"],"exp":1})", ClaimsJson()), kNow)),
            VerifyError::kMalformed);
  EXPECT_EQ(
      ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"HS256","typ":"at+jwt"})", ClaimsJson()), kNow)),
      VerifyError::kMalformed);
  EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(R"({"alg":"HS256","typ":7})", ClaimsJson()), kNow)),
            VerifyError::kMalformed);
}

TEST(VerifierTest, AcceptsHeaderThatUsesTheExactHs256Header) {
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(CraftHs256(kHs256Header, ClaimsJson()), kNow)), std::nullopt);
}

// ---- Key selection -------------------------------------------------------------------------

TEST(VerifierTest, SelectsPublicKeyByKid) {
  const Verifier verifier(KeyConfig(
      Algorithm::kRs256, {{"a", Rsa2048().public_pem}, {"b", OtherRsa2048().public_pem}}));
  EXPECT_EQ(ErrorOf(verifier.Verify(
                SignWithLibjwt("RS256", OtherRsa2048().private_pem, ClaimsJson(), R"({"kid":"b"})"),
                kNow)),
            std::nullopt);
  EXPECT_EQ(
      ErrorOf(verifier.Verify(
          SignWithLibjwt("RS256", Rsa2048().private_pem, ClaimsJson(), R"({"kid":"a"})"), kNow)),
      std::nullopt);
  EXPECT_EQ(ErrorOf(verifier.Verify(
                SignWithLibjwt("RS256", OtherRsa2048().private_pem, ClaimsJson(), R"({"kid":"a"})"),
                kNow)),
            VerifyError::kBadSignature);
}

TEST(VerifierTest, RejectsUnknownKidWhenNoDefaultKey) {
  const Verifier verifier(KeyConfig(Algorithm::kEs256, {{"a", EcP256().public_pem}}));
  EXPECT_EQ(
      ErrorOf(verifier.Verify(
          SignWithLibjwt("ES256", EcP256().private_pem, ClaimsJson(), R"({"kid":"c"})"), kNow)),
      VerifyError::kUnknownKey);
  EXPECT_EQ(
      ErrorOf(verifier.Verify(SignWithLibjwt("ES256", EcP256().private_pem, ClaimsJson()), kNow)),
      VerifyError::kUnknownKey);
}

TEST(VerifierTest, FallsBackToDefaultKeyForAbsentOrUnknownKid) {
  const Verifier verifier(
      KeyConfig(Algorithm::kEs256, {{"", EcP256().public_pem}, {"b", OtherEcP256().public_pem}}));
  EXPECT_EQ(
      ErrorOf(verifier.Verify(
          SignWithLibjwt("ES256", EcP256().private_pem, ClaimsJson(), R"({"kid":"zzz"})"), kNow)),
      std::nullopt);
  EXPECT_EQ(ErrorOf(verifier.Verify(
                SignWithLibjwt("ES256", OtherEcP256().private_pem, ClaimsJson(), R"({"kid":"b"})"),
                kNow)),
            std::nullopt);
  // A known kid is never tried against the default key.
  EXPECT_EQ(
      ErrorOf(verifier.Verify(
          SignWithLibjwt("ES256", EcP256().private_pem, ClaimsJson(), R"({"kid":"b"})"), kNow)),
      VerifyError::kBadSignature);
}

TEST(VerifierTest, RejectsNonStringKidAsMalformed) {
  const Verifier verifier(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}}));
  EXPECT_EQ(
      ErrorOf(verifier.Verify(
          SignWithLibjwt("RS256", Rsa2048().private_pem, ClaimsJson(), R"({"kid":1})"), kNow)),
      VerifyError::kMalformed);
}

TEST(VerifierTest, Hs256IgnoresKid) {
  const Verifier verifier(Hs256Config());
  EXPECT_EQ(ErrorOf(verifier.Verify(
                SignWithLibjwt("HS256", kSecret, ClaimsJson(), R"({"kid":"whatever"})"), kNow)),
            std::nullopt);
}

// ---- Threads -------------------------------------------------------------------------------

TEST(VerifierTest, VerifiesConcurrentlyFromSeveralThreads) {
  const Verifier hs(Hs256Config());
  const Verifier rs(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}}));
  const std::string hs_token = SignWithLibjwt("HS256", kSecret, ClaimsJson());
  const std::string rs_token = SignWithLibjwt("RS256", Rsa2048().private_pem, ClaimsJson());
  const std::string bad_token = SignWithLibjwt("HS256", "wrong", ClaimsJson());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (ErrorOf(hs.Verify(hs_token, kNow)).has_value()) ++failures;
        if (ErrorOf(rs.Verify(rs_token, kNow)).has_value()) ++failures;
        if (ErrorOf(hs.Verify(bad_token, kNow)) != VerifyError::kBadSignature) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- Configuration -------------------------------------------------------------------------

void ExpectConfigError(const VerifierConfig& config, std::string_view fragment) {
  try {
    const Verifier verifier(config);
    ADD_FAILURE() << "no error; expected one mentioning \"" << fragment << "\"";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(VerifierConfigTest, RejectsEmptySecretAndMissingKeys) {
  ExpectConfigError(VerifierConfig{}, "non-empty secret");
  ExpectConfigError(KeyConfig(Algorithm::kRs256, {}), "at least one PEM public key");
  ExpectConfigError(KeyConfig(Algorithm::kEs256, {}), "at least one PEM public key");
}

TEST(VerifierConfigTest, RejectsSecretAndKeysTogether) {
  VerifierConfig hs = Hs256Config();
  hs.public_keys_pem[""] = Rsa2048().public_pem;
  ExpectConfigError(hs, "not public keys");
  VerifierConfig rs = KeyConfig(Algorithm::kRs256, {{"", Rsa2048().public_pem}});
  rs.hs256_secret = "secret";
  ExpectConfigError(rs, "not a secret");
}

TEST(VerifierConfigTest, RejectsUnparsableOrPrivatePemNamingTheKey) {
  ExpectConfigError(KeyConfig(Algorithm::kRs256, {{"", "not a pem"}}), "default key: not a PEM");
  ExpectConfigError(KeyConfig(Algorithm::kRs256, {{"k1", ""}}), "key \"k1\"");
  ExpectConfigError(KeyConfig(Algorithm::kRs256, {{"", Rsa2048().private_pem}}), "not a PEM");
  std::string truncated = Rsa2048().public_pem;
  truncated.resize(truncated.size() / 2);
  ExpectConfigError(KeyConfig(Algorithm::kRs256, {{"", truncated}}), "not a PEM");
}

TEST(VerifierConfigTest, RejectsKeysOfTheWrongKindOrStrength) {
  ExpectConfigError(KeyConfig(Algorithm::kEs256, {{"", Rsa2048().public_pem}}), "P-256");
  ExpectConfigError(KeyConfig(Algorithm::kRs256, {{"", EcP256().public_pem}}), "RSA");
  ExpectConfigError(KeyConfig(Algorithm::kEs256, {{"", GenerateEc("P-384").public_pem}}), "P-256");
  ExpectConfigError(KeyConfig(Algorithm::kRs256, {{"", GenerateRsa(1024).public_pem}}), "2048");
}

TEST(VerifierConfigTest, RejectsLeewayOutsideRange) {
  VerifierConfig negative = Hs256Config();
  negative.leeway = seconds{-1};
  ExpectConfigError(negative, "leeway");
  VerifierConfig huge = Hs256Config();
  huge.leeway = kMaxLeeway + seconds{1};
  ExpectConfigError(huge, "leeway");
}

TEST(VerifyErrorTest, DescribesEveryErrorDistinctly) {
  std::set<std::string_view> texts;
  for (VerifyError error :
       {VerifyError::kMalformed, VerifyError::kBadSignature, VerifyError::kWrongAlgorithm,
        VerifyError::kExpired, VerifyError::kNotYetValid, VerifyError::kMissingExpiry,
        VerifyError::kMissingSubject, VerifyError::kBadAudience, VerifyError::kBadIssuer,
        VerifyError::kUnknownKey}) {
    EXPECT_FALSE(Describe(error).empty());
    texts.insert(Describe(error));
  }
  EXPECT_EQ(texts.size(), 10u);
}

}  // namespace
}  // namespace herald::auth
