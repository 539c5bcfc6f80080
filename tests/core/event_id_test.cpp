#include "core/event_id.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace herald {
namespace {

TEST(EventIdTest, FormatsHistoryAsEightHexDigitsAndSequenceInDecimal) {
  EXPECT_EQ(FormatEventId({0x0f3a9c21, 42}), "0f3a9c21-42");
  EXPECT_EQ(FormatEventId({0, 1}), "00000000-1");
  EXPECT_EQ(FormatEventId({0xffffffff, UINT64_MAX}), "ffffffff-18446744073709551615");
  EXPECT_EQ(FormatEventId({0x80000001, 1'000'000'000'000}), "80000001-1000000000000");
}

TEST(EventIdTest, AppendsAfterWhatTheStringHolds) {
  std::string text = "id: ";
  AppendEventId(text, {0xa, 7});
  EXPECT_EQ(text, "id: 0000000a-7");
}

TEST(EventIdTest, ParsesWhatItFormats) {
  const EventId id{0xdeadbeef, 18'446'744'073'709'551ull};
  EXPECT_EQ(ParseEventId(FormatEventId(id)), id);
}

TEST(EventIdTest, SequenceZeroIsThePositionBeforeAUsersFirstEvent) {
  EXPECT_EQ(FormatEventId({0x0f3a9c21, 0}), "0f3a9c21-0");
  EXPECT_EQ(ParseEventId("0f3a9c21-0"), (EventId{0x0f3a9c21, 0}));
}

TEST(EventIdTest, OrdersBySequenceWithinAHistory) { EXPECT_LT((EventId{7, 9}), (EventId{7, 10})); }

class MalformedEventIdTest : public testing::TestWithParam<const char*> {};

TEST_P(MalformedEventIdTest, IsTreatedAsAbsent) {
  EXPECT_EQ(ParseEventId(GetParam()), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Malformed, MalformedEventIdTest,
                         testing::Values("", "-", "42", "0f3a9c21", "0f3a9c21-", "0f3a9c21-00",
                                         "0f3a9c21-007", "0F3A9C21-1", "0f3a9c2-1", "0f3a9c211-1",
                                         "0f3a9c21_1", "0f3a9c21-1x", "0f3a9c21--1", "0f3a9c21-+1",
                                         "0f3a9c21-99999999999999999999", "0f3a9c21-1\n",
                                         " 0f3a9c21-1", "zzzzzzzz-1", "undefined", "null"));

}  // namespace
}  // namespace herald
