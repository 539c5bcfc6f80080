// Event validation: one static table per protocol (type -> fields; core/event_schema.h and the
// *_schema.cpp files), walked by the small generic checker here. Nested shapes are tables too, so
// the checker's recursion is bounded by the tables, not by the input; the input's own depth is
// checked iteratively. The AG-UI source followed, and where the hub differs: agui_schema.cpp.

#include "core/event_validation.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event_schema.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace herald {
namespace {

namespace json = boost::json;
using Error = std::optional<ValidationError>;
using namespace event_schema;  // the tables' vocabulary: Field, Shape, kString, …

// Every protocol: the timestamp (its kinds are decided by kTime).
constexpr Field kCommon[] = {Opt("timestamp", kInteger | kString).With(kTime)};

const ProtocolSpec& SchemaOf(Protocol protocol) {
  switch (protocol) {
    case Protocol::kAgui:
      return kAguiSchema;
    case Protocol::kA2a:
      return kA2aSchema;
    case Protocol::kSystem:
      break;
  }
  return kSystemSchema;
}

// ---- The checker --------------------------------------------------------------------------------

// Recursion below (Path::Render, the Check* chain, FindNonFinite) is bounded: by the depth of the
// constexpr tables (the checker only descends where a Field has a shape), and by kMaxJsonDepth,
// checked iteratively (CheckDepth) before any recursive walk of the input.
// NOLINTBEGIN(misc-no-recursion)

// A JSON path kept on the stack while checking, rendered only when a problem is reported.
struct Path {
  const Path* parent = nullptr;
  std::string_view name;  // a member name; empty for an array index
  std::size_t index = 0;

  std::string Render() const {
    std::string out = parent != nullptr ? parent->Render() : std::string();
    if (name.empty()) {
      fmt::format_to(std::back_inserter(out), "[{}]", index);
    } else {
      if (!out.empty()) out += '.';
      out += name;
    }
    return out;
  }
};

Error Fail(const Path& path, std::string_view what) {
  std::string field = path.Render();
  std::string message = fmt::format("{} {}", field, what);
  return ValidationError{std::move(field), std::move(message)};
}

std::string_view View(const json::string& text) { return {text.data(), text.size()}; }

bool IsIdName(std::string_view name) {
  return name == "id" || name.ends_with("Id") || name.ends_with("_id");
}

std::optional<std::int64_t> SafeInteger(const json::value& value) {
  if (value.is_int64()) {
    const std::int64_t number = value.get_int64();
    if (number >= -kMaxSafeInteger && number <= kMaxSafeInteger) return number;
    return std::nullopt;
  }
  if (value.is_uint64() && value.get_uint64() <= std::uint64_t(kMaxSafeInteger)) {
    return std::int64_t(value.get_uint64());
  }
  if (value.is_double()) {
    const double number = value.get_double();
    if (std::trunc(number) == number && std::fabs(number) <= double(kMaxSafeInteger)) {
      return std::int64_t(number);
    }
  }
  return std::nullopt;
}

Kinds KindOf(const json::value& value) {
  if (value.is_null()) return kNull;
  if (value.is_bool()) return kBool;
  if (value.is_string()) return kString;
  if (value.is_array()) return kArray;
  if (value.is_object()) return kObject;
  if (value.is_double()) return SafeInteger(value) ? kInteger : kFraction;
  return kInteger;  // int64 or uint64, whatever its size; rules needing a safe range check it
}

std::string DescribeKinds(Kinds kinds) {
  if (kinds == kNotNull) return "must not be null";
  std::vector<std::string_view> names;
  if (kinds & kBool) names.emplace_back("a boolean");
  if ((kinds & kInteger) && (kinds & kFraction)) {
    names.emplace_back("a number");
  } else if (kinds & kInteger) {
    names.emplace_back("an integer");
  }
  if (kinds & kString) names.emplace_back("a string");
  if (kinds & kArray) names.emplace_back("an array");
  if (kinds & kObject) names.emplace_back("an object");
  if (kinds & kNull) names.emplace_back("null");
  return fmt::format("must be {}", fmt::join(names, " or "));
}

bool IsJsonPointer(std::string_view text) {
  if (text.empty()) return true;
  if (text.front() != '/') return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '~' && (i + 1 == text.size() || (text[i + 1] != '0' && text[i + 1] != '1'))) {
      return false;
    }
  }
  return true;
}

constexpr std::string_view kBadId =
    "must be a non-empty id of at most 256 bytes without control characters";

// `lenient` (compatible mode): an optional field that is null counts as absent.
Error CheckObject(const Shape& shape, const json::object& object, const Path& path, bool lenient);

Error CheckTime(const json::value& value, const Path& path) {
  if (value.is_string() && IsRfc3339(View(value.get_string()))) return std::nullopt;
  if (const auto millis = SafeInteger(value); millis && *millis >= 0) return std::nullopt;
  return Fail(path,
              "must be epoch milliseconds (an integer from 0 to 2^53-1) or an RFC 3339 "
              "date-time string");
}

Error CheckItems(const Field& field, const json::array& items, const Path& path, bool lenient) {
  if ((field.rules & kNonEmpty) && items.empty()) return Fail(path, "must not be empty");
  const bool ids = field.name.ends_with("Ids");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Path item_path{&path, {}, i};
    const json::value& item = items[i];
    if (field.item_kinds != 0 && (KindOf(item) & field.item_kinds) == 0) {
      return Fail(item_path, DescribeKinds(field.item_kinds));
    }
    if (ids && item.is_string() && !IsValidClientId(View(item.get_string()))) {
      return Fail(item_path, kBadId);
    }
    if (field.shape != nullptr && item.is_object()) {
      if (auto error = CheckObject(*field.shape, item.get_object(), item_path, lenient)) {
        return error;
      }
    }
  }
  return std::nullopt;
}

Error CheckValue(const Field& field, const json::value& value, const Path& path, bool lenient) {
  if (field.rules & kTime) return CheckTime(value, path);
  const Kinds kind = KindOf(value);
  if ((kind & field.kinds) == 0) return Fail(path, DescribeKinds(field.kinds));
  if (kind == kString) {
    const std::string_view text = View(value.get_string());
    if (IsIdName(field.name) && !IsValidClientId(text)) return Fail(path, kBadId);
    if (!field.one_of.empty() &&
        std::find(field.one_of.begin(), field.one_of.end(), text) == field.one_of.end()) {
      return Fail(path, fmt::format("must be one of: {}", fmt::join(field.one_of, ", ")));
    }
    if ((field.rules & kPointer) && !IsJsonPointer(text)) {
      return Fail(path, "must be a JSON Pointer (RFC 6901)");
    }
  } else if (kind == kInteger && (field.rules & kCount)) {
    if (const auto count = SafeInteger(value); !count || *count < 0) {
      return Fail(path, "must be a non-negative integer no larger than 2^53-1");
    }
  } else if (kind == kArray) {
    return CheckItems(field, value.get_array(), path, lenient);
  } else if (kind == kObject && field.shape != nullptr) {
    return CheckObject(*field.shape, value.get_object(), path, lenient);
  }
  return std::nullopt;
}

Error CheckFields(std::span<const Field> fields, const json::object& object, const Path* base,
                  bool lenient) {
  for (const Field& field : fields) {
    const Path path{base, field.name};
    const json::value* value = object.if_contains(field.name);
    if (value == nullptr) {
      if (field.required) return Fail(path, "is required");
      continue;
    }
    if (lenient && !field.required && value->is_null()) continue;
    if (auto error = CheckValue(field, *value, path, lenient)) return error;
  }
  return std::nullopt;
}

Error CheckObject(const Shape& shape, const json::object& object, const Path& path, bool lenient) {
  if (auto error = CheckFields(shape.fields, object, &path, lenient)) return error;
  if (shape.tag.empty()) return std::nullopt;
  const Path tag_path{&path, shape.tag};
  const json::value* tag = object.if_contains(shape.tag);
  if (tag == nullptr) return Fail(tag_path, "is required");
  if (!tag->is_string()) return Fail(tag_path, "must be a string");
  std::vector<std::string_view> tags;
  for (const Variant& variant : shape.variants) {
    if (variant.tag == View(tag->get_string())) {
      return CheckFields(variant.fields, object, &path, lenient);
    }
    tags.push_back(variant.tag);
  }
  return Fail(tag_path, fmt::format("must be one of: {}", fmt::join(tags, ", ")));
}

bool IsNonFinite(const json::value& value) {
  return value.is_double() && !std::isfinite(value.get_double());
}

// The path of the first non-finite number in `value` (document order), appended to `path`.
// Only called on a document whose depth was checked, so the recursion is bounded.
bool FindNonFinite(const json::value& value, std::string& path) {
  if (IsNonFinite(value)) return true;
  const std::size_t mark = path.size();
  if (const auto* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      fmt::format_to(std::back_inserter(path), "[{}]", i);
      if (FindNonFinite((*array)[i], path)) return true;
      path.resize(mark);
    }
  } else if (const auto* object = value.if_object()) {
    for (const json::key_value_pair& member : *object) {
      const std::string_view key{member.key().data(), member.key().size()};
      path.append(".").append(IsValidClientId(key) ? key : "?");
      if (FindNonFinite(member.value(), path)) return true;
      path.resize(mark);
    }
  }
  return false;
}

// NOLINTEND(misc-no-recursion)

using DepthStack = std::vector<std::pair<const json::value*, std::size_t>>;

void PushChildren(const json::value& value, std::size_t depth, DepthStack& stack) {
  if (const auto* array = value.if_array()) {
    for (const json::value& item : *array) stack.emplace_back(&item, depth + 1);
  } else if (const auto* object = value.if_object()) {
    for (const json::key_value_pair& child : *object) {
      stack.emplace_back(&child.value(), depth + 1);
    }
  }
}

// The error for a value nested too deep in the event's top-level `member`.
ValidationError TooDeep(const json::key_value_pair& member) {
  const std::string_view key{member.key().data(), member.key().size()};
  const std::string field = IsValidClientId(key) ? std::string(key) : std::string();
  return ValidationError{field, fmt::format("{} is nested deeper than {} levels",
                                            field.empty() ? "the event" : field, kMaxJsonDepth)};
}

// The nesting limit, iteratively, so that a hostile document cannot exhaust the stack here; sets
// `non_finite` when a number is too large for a double (such as 1e400, which no JSON encoder can
// write back).
Error CheckNesting(const json::object& event, bool& non_finite) {
  DepthStack stack;
  for (const json::key_value_pair& member : event) {
    stack.assign(1, {&member.value(), 2});
    while (!stack.empty()) {
      const auto [value, depth] = stack.back();
      stack.pop_back();
      non_finite = non_finite || IsNonFinite(*value);
      if (!value->is_array() && !value->is_object()) continue;
      if (depth > kMaxJsonDepth) return TooDeep(member);
      PushChildren(*value, depth, stack);
    }
  }
  return std::nullopt;
}

// Depth, then non-finite numbers, named by the path of the first one.
Error CheckDepth(const json::object& event) {
  bool non_finite = false;
  if (auto error = CheckNesting(event, non_finite)) return error;
  if (!non_finite) return std::nullopt;
  std::string field;
  for (const json::key_value_pair& member : event) {
    const std::string_view key{member.key().data(), member.key().size()};
    field.assign(IsValidClientId(key) ? key : "?");
    if (FindNonFinite(member.value(), field)) break;
  }
  std::string message =
      fmt::format("{} must be a finite number (at most about 1.8e308 in magnitude)", field);
  return ValidationError{std::move(field), std::move(message)};
}

const EventSpec* FindSpec(std::span<const EventSpec> specs, std::string_view type) {
  const auto spec =
      std::find_if(specs.begin(), specs.end(), [&](const EventSpec& e) { return e.type == type; });
  return spec == specs.end() ? nullptr : &*spec;
}

}  // namespace

std::optional<ValidationError> ValidateEvent(Protocol protocol, const json::object& event,
                                             ValidationMode mode) {
  const json::value* type = event.if_contains("type");
  if (type == nullptr) return ValidationError{"type", "type is required"};
  if (!type->is_string()) return ValidationError{"type", "type must be a string"};
  const ProtocolSpec& known = SchemaOf(protocol);
  const bool lenient = mode == ValidationMode::kCompatible;
  const std::string_view name = View(type->get_string());
  const EventSpec* spec = lenient ? FindSpec(known.compatible, name) : nullptr;
  if (spec == nullptr) spec = FindSpec(known.events, name);
  if (spec == nullptr) {
    return ValidationError{"type",
                           fmt::format("type must be a known {} event type", known.display_name)};
  }
  if (auto error = CheckDepth(event)) return error;
  if (auto error = CheckFields(kCommon, event, nullptr, lenient)) return error;
  if (auto error = CheckFields(known.base, event, nullptr, lenient)) return error;
  if (spec->attributable) {
    if (auto error = CheckFields(known.attribution, event, nullptr, lenient)) return error;
  }
  return CheckFields(spec->fields, event, nullptr, lenient);
}

void AddTimestampIfAbsent(Protocol protocol, json::object& event,
                          std::chrono::system_clock::time_point now) {
  if (event.contains("timestamp")) return;
  if (protocol == Protocol::kAgui) {
    event.emplace("timestamp", ToUnixMillis(now));
  } else {
    const std::string text = FormatRfc3339(now);
    event.emplace("timestamp", json::string_view(text));
  }
}

}  // namespace herald
