// Numbers written back exactly as sent (core/json_numbers.h): Boost.JSON's own writing is what
// these tests correct, so each case first checks that Boost does rewrite it.
#include "core/json_numbers.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/event_validation.h"

namespace herald {
namespace {

namespace json = boost::json;

// `text` parsed, then written by Boost and restored.
std::string RoundTrip(std::string_view text) {
  const json::value parsed = json::parse(text);
  std::string encoded = json::serialize(parsed);
  NumberTexts::Of(text, parsed, kMaxJsonDepth).Restore(encoded);
  return encoded;
}

TEST(JsonNumbersTest, BoostRewritesTheseNumbers) {
  EXPECT_EQ(json::serialize(json::parse("[-12.5,1.0,-0,123456789012345678901234567890]")),
            "[-1.25E1,1E0,0,1.2345678901234568E29]");
}

TEST(JsonNumbersTest, DecimalsExponentsHugeIntegersAndNegativeZeroComeBackAsSent) {
  const std::string text =
      R"({"a":-12.5,"b":1.0,"c":-0,"d":123456789012345678901234567890,"e":1e2,"f":1E+02,)"
      R"("g":0.000001,"h":-0.0,"i":18446744073709551616,"j":-9223372036854775809,)"
      R"("k":2.50,"l":5e-324})";
  EXPECT_EQ(RoundTrip(text), text);
}

TEST(JsonNumbersTest, PlainIntegersNeedNoTextsAtAll) {
  const std::string text = R"({"a":1,"b":[0,-1,9223372036854775807,18446744073709551615]})";
  const json::value parsed = json::parse(text);
  EXPECT_TRUE(NumberTexts::Of(text, parsed, kMaxJsonDepth).empty());
}

TEST(JsonNumbersTest, AZeroIsNotTakenForTheNegativeZeroBesideIt) {
  EXPECT_EQ(RoundTrip("[0,-0,0,-0.0,0.0]"), "[0,-0,0,-0.0,0.0]");
  EXPECT_EQ(RoundTrip(R"({"d":"2026-01-02","n":0})"), R"({"d":"2026-01-02","n":0})");
}

TEST(JsonNumbersTest, NumbersInsideStringsAndKeysAreLeftAlone) {
  const std::string text = R"({"1.5E0":"1.5E0","x\"1E0":[1.50,"\\",2.0]})";
  EXPECT_EQ(RoundTrip(text), text);
}

TEST(JsonNumbersTest, WhitespaceAndEscapesAreWrittenCompactlyButNumbersKeepTheirText) {
  EXPECT_EQ(RoundTrip("{ \"a\" : [ 1.10 , 2e0 ] ,\n \"b\":\"\\u0041\" }"),
            R"({"a":[1.10,2e0],"b":"A"})");
}

TEST(JsonNumbersTest, RemovedMembersAreSkippedAndAddedNumbersKeepBoostsForm) {
  const std::string text = R"({"user_id":"u","drop":1.50,"keep":1.50,"x":[3.0]})";
  json::value parsed = json::parse(text);
  const NumberTexts numbers = NumberTexts::Of(text, parsed, kMaxJsonDepth);
  parsed.get_object().erase("drop");
  parsed.get_object().erase("user_id");
  parsed.get_object()["added"] = 0.25;
  std::string encoded = json::serialize(parsed);
  numbers.Restore(encoded);
  EXPECT_EQ(encoded, R"({"keep":1.50,"x":[3.0],"added":2.5E-1})");
}

TEST(JsonNumbersTest, EachElementOfABatchGetsItsOwnNumbers) {
  const std::string text = R"([{"v":1.50},7,{"v":[1.5,"s",-0]},[2.0],{"v":1.500}])";
  const json::value parsed = json::parse(text);
  const std::vector<NumberTexts> numbers =
      NumberTexts::OfElements(text, parsed.get_array(), kMaxJsonDepth);
  ASSERT_EQ(numbers.size(), 5u);
  const char* expected[] = {R"({"v":1.50})", "7", R"({"v":[1.5,"s",-0]})", "[2.0]",
                            R"({"v":1.500})"};
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    std::string encoded = json::serialize(parsed.get_array()[i]);
    numbers[i].Restore(encoded);
    EXPECT_EQ(encoded, expected[i]) << i;
  }
  EXPECT_TRUE(numbers[1].empty());
}

TEST(JsonNumbersTest, AOneItemBatchIsIndexedLikeAnyOther) {
  const std::string text = R"([{"v":0.10}])";
  const json::value parsed = json::parse(text);
  const auto numbers = NumberTexts::OfElements(text, parsed.get_array(), kMaxJsonDepth);
  ASSERT_EQ(numbers.size(), 1u);
  std::string encoded = json::serialize(parsed.get_array()[0]);
  numbers[0].Restore(encoded);
  EXPECT_EQ(encoded, R"({"v":0.10})");
}

}  // namespace
}  // namespace herald
