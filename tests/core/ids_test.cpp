// Client and context id rules (spec §1.3, §3.2).
#include "core/ids.h"

#include <gtest/gtest.h>

#include <string>

namespace herald {
namespace {

TEST(IdsTest, ClientIdsAreOneTo256BytesOfUtf8WithoutControlCharacters) {
  EXPECT_TRUE(IsValidClientId("alice"));
  EXPECT_TRUE(IsValidClientId(std::string(256, 'a')));
  EXPECT_TRUE(IsValidClientId("caf\xc3\xa9"));       // é
  EXPECT_TRUE(IsValidClientId("\xe2\x82\xac"));      // €
  EXPECT_TRUE(IsValidClientId("\xf0\x9f\x98\x80"));  // U+1F600
  EXPECT_TRUE(IsValidClientId("a/b"));               // fine as a user id
  EXPECT_FALSE(IsValidClientId(""));
  EXPECT_FALSE(IsValidClientId(std::string(257, 'a')));
  EXPECT_FALSE(IsValidClientId(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidClientId("a\nb"));
  EXPECT_FALSE(IsValidClientId("a\x1f"));
  EXPECT_FALSE(IsValidClientId("a\x7f"));
}

TEST(IdsTest, C1ControlCharactersAreControlCharactersToo) {
  EXPECT_FALSE(IsValidClientId("a\xc2\x80"));  // U+0080
  EXPECT_FALSE(
      IsValidClientId("a\xc2\x85"
                      "b"));                  // U+0085 NEXT LINE
  EXPECT_FALSE(IsValidClientId("\xc2\x9f"));  // U+009F
  EXPECT_TRUE(
      IsValidClientId("a\xc2\xa0"
                      "b"));                      // U+00A0 NO-BREAK SPACE: not a control
  EXPECT_TRUE(IsValidClientId("a\xe2\x80\xa8"));  // U+2028 LINE SEPARATOR: a separator (Zl)
  EXPECT_TRUE(HasControlCharacter("\t"));
  EXPECT_FALSE(HasControlCharacter("caf\xc3\xa9 \xe2\x82\xac"));
}

TEST(IdsTest, MalformedUtf8IsRefused) {
  for (const std::string bad : {
           "\xff",              // never valid
           "\xc3",              // truncated
           "\xc0\xaf",          // overlong '/'
           "\xe0\x80\xaf",      // overlong
           "\xed\xa0\x80",      // UTF-16 surrogate
           "\xf4\x90\x80\x80",  // above U+10FFFF
           "\x80",              // lone continuation
           "a\xe2\x82",         // truncated at the end
       }) {
    EXPECT_FALSE(IsValidClientId(bad)) << "bytes of size " << bad.size();
  }
}

TEST(IdsTest, ContextIdsAlsoRefusePlaceholdersAndPathTricks) {
  EXPECT_TRUE(IsValidContextId("c1"));
  EXPECT_TRUE(IsValidContextId("6f1c2b9e-7d1a-4c55-9b3e-2f0e8a1d4c7b"));
  EXPECT_TRUE(IsValidContextId("..."));
  EXPECT_TRUE(IsValidContextId("undefined-ish"));
  for (const std::string bad : {"undefined", "null", "__CONTEXT_LOADING__", ".", "..", "a/b",
                                "../etc", "a\\b", "", "a\tb"}) {
    EXPECT_FALSE(IsValidContextId(bad)) << bad;
  }
  EXPECT_FALSE(IsValidContextId(std::string(257, 'c')));
  EXPECT_FALSE(IsValidContextId("\xff"));
}

}  // namespace
}  // namespace herald
