#include "auth/claims.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

namespace herald::auth {
namespace {

namespace json = boost::json;
using std::chrono::seconds;
using std::chrono::system_clock;

// NumericDates are clamped to this many seconds either side of the epoch, so that adding or
// subtracting a leeway cannot overflow and the result converts to a system_clock::time_point.
constexpr std::int64_t kNumericDateLimit =
    std::chrono::duration_cast<seconds>(system_clock::duration::max()).count() -
    kMaxLeeway.count() - 1;

enum class DateStatus { kAbsent, kMalformed, kPresent };

struct NumericDate {
  DateStatus status = DateStatus::kAbsent;
  std::int64_t seconds = 0;  // whole seconds since the epoch, clamped, when kPresent
};

// Reads a NumericDate claim (RFC 7519 §2: a JSON number of seconds, possibly non-integer).
NumericDate ReadNumericDate(const json::object& payload, std::string_view name) {
  const json::value* value = payload.if_contains(name);
  if (value == nullptr) return {};
  double number = 0;
  if (const auto* i = value->if_int64()) {
    number =
        static_cast<double>(std::clamp<std::int64_t>(*i, -kNumericDateLimit, kNumericDateLimit));
  } else if (const auto* u = value->if_uint64()) {
    number = static_cast<double>(std::min<std::uint64_t>(*u, kNumericDateLimit));
  } else if (const auto* d = value->if_double(); d != nullptr && std::isfinite(*d)) {
    number = std::floor(*d);
  } else {
    return {DateStatus::kMalformed, 0};
  }
  const auto limit = static_cast<double>(kNumericDateLimit);
  return {DateStatus::kPresent, static_cast<std::int64_t>(std::clamp(number, -limit, limit))};
}

bool AudienceMatches(const json::value& aud, std::string_view expected) {
  if (const auto* single = aud.if_string()) return *single == expected;
  if (const auto* many = aud.if_array()) {
    return std::any_of(many->begin(), many->end(), [&](const json::value& entry) {
      const auto* text = entry.if_string();
      return text != nullptr && *text == expected;
    });
  }
  return false;
}

std::vector<std::string> SplitScopes(std::string_view text) {
  std::vector<std::string> scopes;
  while (!text.empty()) {
    const auto start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    const auto end = std::min(text.find(' '), text.size());
    scopes.emplace_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return scopes;
}

}  // namespace

bool Claims::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

Result<Claims> CheckClaims(const json::object& payload, const VerifierConfig& config,
                           system_clock::time_point now) {
  const std::int64_t leeway = std::clamp(config.leeway, seconds{0}, kMaxLeeway).count();
  const std::int64_t now_seconds = std::chrono::floor<seconds>(now.time_since_epoch()).count();

  const NumericDate exp = ReadNumericDate(payload, "exp");
  if (exp.status == DateStatus::kAbsent) return Refusal(VerifyError::kMissingExpiry);
  const NumericDate nbf = ReadNumericDate(payload, "nbf");
  if (exp.status == DateStatus::kMalformed || nbf.status == DateStatus::kMalformed) {
    return Refusal(VerifyError::kMalformed);
  }
  // RFC 7519 §4.1.4: the current time must be before exp (plus leeway).
  if (now_seconds >= exp.seconds + leeway) return Refusal(VerifyError::kExpired);
  if (nbf.status == DateStatus::kPresent && now_seconds < nbf.seconds - leeway) {
    return Refusal(VerifyError::kNotYetValid);
  }

  if (!config.issuer.empty()) {
    const json::value* iss = payload.if_contains("iss");
    const json::string* text = iss != nullptr ? iss->if_string() : nullptr;
    if (text == nullptr || *text != config.issuer) return Refusal(VerifyError::kBadIssuer);
  }
  if (!config.audience.empty()) {
    const json::value* aud = payload.if_contains("aud");
    if (aud == nullptr || !AudienceMatches(*aud, config.audience))
      return Refusal(VerifyError::kBadAudience);
  }

  const json::value* sub = payload.if_contains("sub");
  const json::string* subject = sub != nullptr ? sub->if_string() : nullptr;
  if (subject == nullptr || !IsValidClientId(*subject))
    return Refusal(VerifyError::kMissingSubject);

  Claims claims;
  claims.user = UserId(std::string(*subject));
  claims.expires_at = system_clock::time_point(seconds(exp.seconds));
  if (const json::value* scope = payload.if_contains("scope")) {
    const json::string* text = scope->if_string();
    if (text == nullptr) return Refusal(VerifyError::kMalformed);
    claims.scopes = SplitScopes(*text);
  }
  return claims;
}

}  // namespace herald::auth
