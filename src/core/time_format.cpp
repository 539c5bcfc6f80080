#include "core/time_format.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>

namespace herald {

namespace {

bool ParseDigits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  const char* first = text.data() + pos;
  for (std::size_t i = 0; i < count; ++i) {
    if (first[i] < '0' || first[i] > '9') return false;
  }
  std::from_chars(first, first + count, out);
  return true;
}

// An RFC 3339 date-time in whole seconds (64-bit: every year 0000-9999 fits) and its fraction.
struct DateTime {
  std::chrono::sys_seconds seconds;
  std::chrono::nanoseconds fraction{0};
};

std::optional<DateTime> ParseDateTime(std::string_view text) {
  using namespace std::chrono;
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!ParseDigits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
      !ParseDigits(text, 5, 2, month) || text[7] != '-' || !ParseDigits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !ParseDigits(text, 11, 2, hour) ||
      text[13] != ':' || !ParseDigits(text, 14, 2, minute) || text[16] != ':' ||
      !ParseDigits(text, 17, 2, second)) {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year{year}, std::chrono::month{unsigned(month)},
                            std::chrono::day{unsigned(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t pos = 19;
  nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    std::int64_t scale = 100'000'000;
    std::int64_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      value += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    fraction = nanoseconds{value};
  }
  if (pos >= text.size()) return std::nullopt;
  minutes offset{0};
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int off_hour = 0;
    int off_minute = 0;
    if (!ParseDigits(text, pos + 1, 2, off_hour) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !ParseDigits(text, pos + 4, 2, off_minute) || off_hour > 23 ||
        off_minute > 59) {
      return std::nullopt;
    }
    offset = hours{off_hour} + minutes{off_minute};
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const sys_seconds local = sys_days{date} + hours{hour} + minutes{minute} + seconds{second};
  return DateTime{local - offset, fraction};
}

}  // namespace

std::string FormatRfc3339(std::chrono::system_clock::time_point time) {
  const auto millis = std::chrono::floor<std::chrono::milliseconds>(time);
  const auto seconds = std::chrono::floor<std::chrono::seconds>(millis);
  const auto fraction = (millis - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", seconds, fraction);
}

bool IsRfc3339(std::string_view text) { return ParseDateTime(text).has_value(); }

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  using namespace std::chrono;
  const auto parsed = ParseDateTime(text);
  if (!parsed) return std::nullopt;
  // The clock's range in whole seconds, one second in from each end for the fraction.
  constexpr auto kMax = duration_cast<seconds>(system_clock::duration::max()) - seconds{1};
  constexpr auto kMin = duration_cast<seconds>(system_clock::duration::min()) + seconds{1};
  const seconds since_epoch = parsed->seconds.time_since_epoch();
  if (since_epoch > kMax || since_epoch < kMin) return std::nullopt;
  return system_clock::time_point(duration_cast<system_clock::duration>(since_epoch) +
                                  duration_cast<system_clock::duration>(parsed->fraction));
}

std::int64_t ToUnixMillis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

}  // namespace herald
