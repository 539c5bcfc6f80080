#include "auth/base64url.h"

#include <gtest/gtest.h>

namespace herald::auth {
namespace {

TEST(Base64UrlTest, EncodesWithoutPaddingUsingUrlAlphabet) {
  EXPECT_EQ(EncodeBase64Url(""), "");
  EXPECT_EQ(EncodeBase64Url("f"), "Zg");
  EXPECT_EQ(EncodeBase64Url("fo"), "Zm8");
  EXPECT_EQ(EncodeBase64Url("foo"), "Zm9v");
  EXPECT_EQ(EncodeBase64Url("\xfb\xff"), "-_8");
}

TEST(Base64UrlTest, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (std::size_t length = 0; length <= bytes.size(); length += 37) {
    const std::string slice = bytes.substr(0, length);
    EXPECT_EQ(DecodeBase64Url(EncodeBase64Url(slice)), slice);
  }
}

TEST(Base64UrlTest, RejectsPaddingStandardAlphabetAndOtherCharacters) {
  EXPECT_FALSE(DecodeBase64Url("Zg=="));
  EXPECT_FALSE(DecodeBase64Url("+_8"));
  EXPECT_FALSE(DecodeBase64Url("-/8"));
  EXPECT_FALSE(DecodeBase64Url("Zm 9v"));
  EXPECT_FALSE(DecodeBase64Url(std::string_view("Zm\0v", 4)));
  EXPECT_FALSE(DecodeBase64Url("Zm9v\xc3\xa9"));
}

TEST(Base64UrlTest, RejectsImpossibleLengthAndNonCanonicalTrailingBits) {
  EXPECT_FALSE(DecodeBase64Url("Z"));
  EXPECT_FALSE(DecodeBase64Url("Zm9vY"));
  EXPECT_FALSE(DecodeBase64Url("Zh"));   // "Zg" with a non-zero unused bit
  EXPECT_FALSE(DecodeBase64Url("Zm9"));  // "Zm8" with a non-zero unused bit
  EXPECT_EQ(DecodeBase64Url(""), "");
}

}  // namespace
}  // namespace herald::auth
