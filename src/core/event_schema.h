// The vocabulary of the event tables (core/event_validation.h): a field's accepted JSON kinds and
// rules, nested object shapes, discriminated unions, and one table of event types per protocol.
// Internal to core: the tables live in agui_schema.cpp, a2a_schema.cpp and system_schema.cpp, the
// checker that walks them in event_validation.cpp. Everything here is constexpr data.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/event.h"

namespace herald::event_schema {

// The JSON kinds a field accepts, as a bit set. A number with an integral value in the
// JavaScript safe range is an integer however it is spelt ("5", "5.0", "5e0"), as in zod.
using Kinds = std::uint8_t;
constexpr Kinds kNull = 1, kBool = 2, kInteger = 4, kFraction = 8, kString = 16, kArray = 32,
                kObject = 64;
constexpr Kinds kAnyValue = 127;
constexpr Kinds kNotNull = kAnyValue & ~kNull;
constexpr Kinds kText = kString | kObject;  // A2A payloads: plain text or a message object

constexpr std::int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1

// Further rules on a value of an accepted kind. Ids need no flag: they are named `id`, `…Id`
// or `…_id` (and lists of them `…Ids`), and the name decides.
using Rules = std::uint8_t;
constexpr Rules kCount = 1;     // integer in [0, 2^53 - 1]
constexpr Rules kTime = 2;      // timestamp: epoch ms in [0, 2^53 - 1] or RFC 3339 string
constexpr Rules kPointer = 4;   // RFC 6901 JSON Pointer
constexpr Rules kNonEmpty = 8;  // array with at least one item

struct Shape;

struct Field {
  std::string_view name;
  Kinds kinds = 0;
  bool required = true;
  Rules rules = 0;
  std::span<const std::string_view> one_of = {};  // allowed values of a string
  Kinds item_kinds = 0;                           // kinds each array item must have (0: any)
  const Shape* shape = nullptr;                   // an object value, or each object item

  // Defined before its callers: clang 14 does not instantiate a later-defined member template
  // in time for a constant expression.
  template <class T>
  constexpr Field Set(T Field::*member, T value) const {
    Field copy = *this;
    copy.*member = value;
    return copy;
  }

  constexpr Field With(Rules more) const { return Set(&Field::rules, Rules(rules | more)); }
  constexpr Field OneOf(std::span<const std::string_view> values) const {
    return Set(&Field::one_of, values);
  }
  constexpr Field Matching(const Shape* object_shape) const {
    return Set(&Field::shape, object_shape);
  }
  constexpr Field Items(Kinds kinds_of_items, const Shape* item_shape = nullptr) const {
    return Set(&Field::item_kinds, kinds_of_items).Matching(item_shape);
  }
};

// One arm of a discriminated union: the fields that apply when the tag has this value.
struct Variant {
  std::string_view tag;
  std::span<const Field> fields;
};

// An object: common fields, and optionally a tag member choosing one variant's fields.
struct Shape {
  std::span<const Field> fields;
  std::string_view tag = {};
  std::span<const Variant> variants = {};
};

struct EventSpec {
  std::string_view type;
  std::span<const Field> fields;
  bool attributable = false;  // AG-UI: carries the optional subagentRunId
};

constexpr Field Req(std::string_view name, Kinds kinds) {
  Field field;
  field.name = name;
  field.kinds = kinds;
  return field;
}
constexpr Field Opt(std::string_view name, Kinds kinds) {
  Field field = Req(name, kinds);
  field.required = false;
  return field;
}
constexpr Field Str(std::string_view name) { return Req(name, kString); }
constexpr Field OptStr(std::string_view name) { return Opt(name, kString); }
constexpr Field Count(std::string_view name) { return Req(name, kInteger).With(kCount); }
constexpr Field OptCount(std::string_view name) { return Opt(name, kInteger).With(kCount); }

// One protocol's event types, and the fields every event of it may carry besides its own.
struct ProtocolSpec {
  Protocol protocol;
  std::string_view display_name;
  std::span<const EventSpec> events;
  std::span<const EventSpec> compatible;  // replacements in compatible mode
  std::span<const Field> base;            // fields any event of the protocol may carry
  std::span<const Field> attribution;     // fields of the events marked `attributable`
};

// Defined in agui_schema.cpp, a2a_schema.cpp, system_schema.cpp; constant-initialised.
extern const ProtocolSpec kAguiSchema;
extern const ProtocolSpec kA2aSchema;
extern const ProtocolSpec kSystemSchema;

}  // namespace herald::event_schema
