// Strong id types: maps are keyed by these, never by raw strings.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace herald {

// A string-valued id whose tag makes UserId and ContextId distinct types.
template <class Tag>
class StringId {
 public:
  StringId() = default;
  explicit StringId(std::string value) : value_(std::move(value)) {}

  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>'s `0`
  friend auto operator<=>(const StringId&, const StringId&) = default;
  friend bool operator==(const StringId&, const StringId&) = default;

 private:
  std::string value_;
};

// An integer-valued id.
template <class Tag>
class IntegerId {
 public:
  constexpr IntegerId() = default;
  constexpr explicit IntegerId(std::uint64_t value) : value_(value) {}

  constexpr std::uint64_t value() const { return value_; }

  friend constexpr auto operator<=>(const IntegerId&, const IntegerId&) = default;

 private:
  std::uint64_t value_ = 0;
};

using UserId = StringId<struct UserIdTag>;
using ContextId = StringId<struct ContextIdTag>;
using ConnectionId = IntegerId<struct ConnectionIdTag>;

// Ids supplied by clients (user ids, context ids, task ids) must be non-empty, at most 256
// bytes, free of control characters (spec §3.2), and well-formed UTF-8 (they are written into
// JSON; a path or query id may carry any percent-encoded byte).
inline constexpr std::size_t kMaxIdBytes = 256;
bool IsValidClientId(std::string_view id);

// Whether UTF-8 `text` holds a control character (Unicode category Cc): C0 (U+0000-U+001F),
// DEL (U+007F) or C1 (U+0080-U+009F, the bytes C2 80-C2 9F).
bool HasControlCharacter(std::string_view text);

// The longest context name, in bytes (spec §1.3).
inline constexpr std::size_t kMaxContextNameBytes = 256;

// Context ids are client ids that can also stand in a URL path and are not a front-end's
// placeholder: not "undefined", "null" or "__CONTEXT_LOADING__" (what buggy clients send before
// they have an id), not "." or "..", no '/' or '\\'. An id that is not valid is refused in a
// path, a query or a "context_id" field, and not used for attribution (see docs/DECISIONS.md).
bool IsValidContextId(std::string_view id);

}  // namespace herald

template <class Tag>
struct std::hash<herald::StringId<Tag>> {
  std::size_t operator()(const herald::StringId<Tag>& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};

template <class Tag>
struct std::hash<herald::IntegerId<Tag>> {
  std::size_t operator()(const herald::IntegerId<Tag>& id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};
