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

class BadRfc3339Test : public testing::TestWithParam<const char*> {};
TEST_P(BadRfc3339Test, IsRejected) { EXPECT_EQ(ParseRfc3339(GetParam()), std::nullopt); }
INSTANTIATE_TEST_SUITE_P(Bad, BadRfc3339Test,
                         testing::Values("", "2026-11-24", "2026-11-24T09:00:00",
                                         "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                                         "2026-11-24T25:00:00Z", "2026-11-24T09:00:00.Z",
                                         "2026-11-24T09:00:00Zjunk", "yesterday",
                                         "2026-11-24T09:00:00+0100"));

}  // namespace
}  // namespace herald
