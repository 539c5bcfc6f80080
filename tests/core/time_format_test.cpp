#include "core/time_format.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

using namespace std::chrono;

TEST(TimeFormatTest, FormatsUtcWithMilliseconds) {
  const auto t =
      sys_days{year{2026} / 11 / 24} + hours{9} + minutes{46} + seconds{11} + milliseconds{7};
  EXPECT_EQ(FormatRfc3339(time_point_cast<system_clock::duration>(t)), "2026-11-24T09:46:11.007Z");
}

TEST(TimeFormatTest, ParsesZuluOffsetAndFraction) {
  const auto base = sys_days{year{2026} / 11 / 24} + hours{9};
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:00:00Z"), base);
  EXPECT_EQ(ParseRfc3339("2026-11-24T10:30:00+01:30"), base);
  EXPECT_EQ(ParseRfc3339("2026-11-24T09:00:00.5Z"), base + milliseconds{500});
}

TEST(TimeFormatTest, RoundTripsItsOwnFormat) {
  const auto now = time_point_cast<milliseconds>(system_clock::now());
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(now)), now);
}

TEST(TimeFormatTest, YearsBeyondTheClocksRangeAreRfc3339ButNameNoTimeInsteadOfOverflowing) {
  // Found by the event_validation fuzzer: year 9999 overflowed the nanosecond clock.
  for (const char* text : {"9999-12-31T23:59:59.999999999Z", "0000-01-01T00:00:00Z",
                           "2262-04-12T00:00:00Z", "1677-09-21T00:00:00Z"}) {
    EXPECT_TRUE(IsRfc3339(text)) << text;
    EXPECT_EQ(ParseRfc3339(text), std::nullopt) << text;
  }
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2262-04-10T00:00:00Z")), 9'223'200'000'000);
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("1677-09-22T00:00:00Z")), -9'223'286'400'000);
}

class BadRfc3339Test : public testing::TestWithParam<const char*> {};
TEST_P(BadRfc3339Test, IsRejected) {
  EXPECT_EQ(ParseRfc3339(GetParam()), std::nullopt);
  EXPECT_FALSE(IsRfc3339(GetParam()));
}
INSTANTIATE_TEST_SUITE_P(Bad, BadRfc3339Test,
                         testing::Values("", "2026-11-24", "2026-11-24T09:00:00",
                                         "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                                         "2026-11-24T25:00:00Z", "2026-11-24T09:00:00.Z",
                                         "2026-11-24T09:00:00Zjunk", "yesterday",
                                         "2026-11-24T09:00:00+0100"));

}  // namespace
}  // namespace herald
