#include "auth/token_parts.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/base64url.h"
#include "auth/jwt_fixtures.h"
#include "auth/verifier.h"

namespace herald::auth {
namespace {

using fixtures::CraftHs256;
using fixtures::kNow;

TEST(SplitTokenTest, SplitsSigningInputSignatureHeaderAndPayload) {
  const std::string token = CraftHs256(R"({"alg":"HS256"})", R"({"sub":"a"})");
  const auto parts = SplitToken(token);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(parts->signature, token.substr(token.rfind('.') + 1));
  EXPECT_EQ(parts->header.at("alg").as_string(), "HS256");
  EXPECT_EQ(parts->payload.at("sub").as_string(), "a");
}

TEST(SplitTokenTest, AcceptsEmptySignatureSegmentStructurally) {
  const std::string token =
      EncodeBase64Url(R"({"alg":"none"})") + "." + EncodeBase64Url("{}") + ".";
  const auto parts = SplitToken(token);
  ASSERT_TRUE(parts);
  EXPECT_TRUE(parts->signature.empty());
}

TEST(SplitTokenTest, RejectsTokensOverTheSizeBound) {
  const std::string padding(kMaxTokenBytes, 'a');
  const std::string token =
      CraftHs256(R"({"alg":"HS256"})", R"({"sub":"a","pad":")" + padding + R"("})");
  EXPECT_GT(token.size(), kMaxTokenBytes);
  EXPECT_FALSE(SplitToken(token));
}

struct GarbageCase {
  const char* name;
  std::string token;
};

std::vector<GarbageCase> GarbageCases() {
  const std::string sig = EncodeBase64Url("signature");
  auto b64 = [](std::string_view text) { return EncodeBase64Url(text); };
  std::string deep(100, '[');
  return {
      {"Empty", ""},
      {"OnlyDot", "."},
      {"TwoDots", ".."},
      {"NoDots", "abcdef"},
      {"OneDot", "a.b"},
      {"FourSegments", b64(R"({"alg":"HS256"})") + "." + b64("{}") + "." + sig + "." + sig},
      {"HundredKiB", std::string(100 * 1024, 'A')},
      {"HundredKiBWithDots",
       std::string(50 * 1024, 'A') + "." + std::string(50 * 1024, 'A') + ".A"},
      {"InvalidBase64Header", "!!!." + b64("{}") + "." + sig},
      {"PaddedBase64Header", b64(R"({"alg":"HS256"})") + "==." + b64("{}") + "." + sig},
      {"InvalidBase64Signature", b64(R"({"alg":"HS256"})") + "." + b64("{}") + ".a+b/"},
      {"HeaderNotJson", b64("alg=HS256") + "." + b64("{}") + "." + sig},
      {"HeaderJsonArray", b64(R"(["HS256"])") + "." + b64("{}") + "." + sig},
      {"HeaderJsonString", b64(R"("HS256")") + "." + b64("{}") + "." + sig},
      {"PayloadJsonNumber", b64(R"({"alg":"HS256"})") + "." + b64("42") + "." + sig},
      {"PayloadJsonNull", b64(R"({"alg":"HS256"})") + "." + b64("null") + "." + sig},
      {"PayloadTruncatedJson", b64(R"({"alg":"HS256"})") + "." + b64(R"({"sub":)") + "." + sig},
      {"PayloadInvalidUtf8",
       b64(R"({"alg":"HS256"})") + "." + b64("{\"sub\":\"\xff\"}") + "." + sig},
      {"PayloadTooDeep", b64(R"({"alg":"HS256"})") + "." + b64(deep) + "." + sig},
      // append(), not "." + std::string: GCC 12 warns falsely (-Wrestrict) on the latter.
      {"EmptyHeaderSegment", std::string(".").append(b64("{}")).append(".").append(sig)},
      {"EmptyPayloadSegment", b64(R"({"alg":"HS256"})").append("..").append(sig)},
      {"NulByte", std::string("eyJ\0.e30.AA", 11)},
      {"ControlCharacters", "\x01\x02.\x03.\x04"},
  };
}

class GarbageTokenTest : public ::testing::TestWithParam<GarbageCase> {};

TEST_P(GarbageTokenTest, IsMalformedNeverACrash) {
  EXPECT_FALSE(SplitToken(GetParam().token));
  VerifierConfig config;
  config.hs256_secret = std::string(fixtures::kSecret);
  const Verifier verifier(config);
  const Result<Claims> result = verifier.Verify(GetParam().token, kNow);
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(ReasonOf(result.error()), VerifyError::kMalformed);
}

INSTANTIATE_TEST_SUITE_P(Garbage, GarbageTokenTest, ::testing::ValuesIn(GarbageCases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace herald::auth
