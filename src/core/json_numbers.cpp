#include "core/json_numbers.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdint>

namespace herald {

namespace json = boost::json;

namespace {

// Whether `parsed` may hold a number Boost.JSON would not write back as sent: any double (a
// decimal, an exponent, an integer beyond 64 bits), or a zero that might have been "-0".
bool MayHoldRewrittenNumbers(std::string_view json, const json::value& parsed) {
  std::vector<const json::value*> stack{&parsed};
  bool zero = false;
  while (!stack.empty()) {
    const json::value* value = stack.back();
    stack.pop_back();
    switch (value->kind()) {
      case json::kind::double_:
        return true;
      case json::kind::int64:
        zero = zero || value->get_int64() == 0;
        break;
      case json::kind::array:
        for (const json::value& item : value->get_array()) stack.push_back(&item);
        break;
      case json::kind::object:
        for (const json::key_value_pair& member : value->get_object()) {
          stack.push_back(&member.value());
        }
        break;
      default:
        break;
    }
  }
  return zero && json.find("-0") != std::string_view::npos;
}

template <class Integer>
std::string IntegerText(Integer number) {
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, number).ptr;
  return std::string(buffer, end);
}

}  // namespace

// A basic_parser handler that notes every number's text, and which element of a top-level
// array it is in. Everything else is only checked, as boost::json::parse checks it.
class NumberCollector {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  explicit NumberCollector(std::vector<NumberTexts>* out) : out_(out), indexed_(out->size() > 1) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) {
    for (NumberTexts& texts : *out_) texts.Prune();
    return true;
  }
  bool on_array_begin(json::error_code&) { return Open(); }
  bool on_array_end(std::size_t, json::error_code&) { return Close(); }
  bool on_object_begin(json::error_code&) { return Open(); }
  bool on_object_end(std::size_t, json::error_code&) { return Close(); }
  bool on_string_part(std::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(std::string_view, std::size_t, json::error_code&) { return Scalar(); }
  bool on_key_part(std::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key(std::string_view, std::size_t, json::error_code&) { return true; }
  bool on_number_part(std::string_view text, json::error_code&) {
    part_.append(text);
    return true;
  }
  bool on_int64(std::int64_t number, std::string_view text, json::error_code&) {
    return Number(IntegerText(number), text);
  }
  bool on_uint64(std::uint64_t number, std::string_view text, json::error_code&) {
    return Number(IntegerText(number), text);
  }
  bool on_double(double number, std::string_view text, json::error_code&) {
    return Number(json::serialize(json::value(number)), text);
  }
  bool on_bool(bool, json::error_code&) { return Scalar(); }
  bool on_null(json::error_code&) { return Scalar(); }
  bool on_comment_part(std::string_view, json::error_code&) { return true; }
  bool on_comment(std::string_view, json::error_code&) { return true; }

 private:
  // With one list per element, numbers go to the element of the top-level array they are in
  // (element_ counts the finished ones); otherwise to the one list.
  NumberTexts& Target() { return (*out_)[indexed_ ? std::min(element_, out_->size() - 1) : 0]; }
  bool Open() {
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return Scalar();
  }
  // A value ended: at depth 1 it is an element of the top-level array.
  bool Scalar() {
    if (depth_ == 1) ++element_;
    return true;
  }
  bool Number(std::string written, std::string_view last) {
    std::string sent = std::move(part_);
    part_.clear();
    sent.append(last);
    Target().numbers_.push_back({std::move(written), std::move(sent)});
    return Scalar();
  }

  std::vector<NumberTexts>* out_;
  bool indexed_;
  std::size_t depth_ = 0;
  std::size_t element_ = 0;
  std::string part_;
};

namespace {

// Runs the collector over `json`, which parsed before with the same depth limit.
void Collect(std::string_view json, std::size_t max_depth, std::vector<NumberTexts>& out) {
  json::parse_options options;
  options.max_depth = max_depth;
  json::basic_parser<NumberCollector> parser(options, &out);
  json::error_code ec;
  parser.write_some(false, json.data(), json.size(), ec);
  if (ec) out.assign(out.size(), NumberTexts());
}

}  // namespace

void NumberTexts::Prune() {
  for (const Number& number : numbers_) {
    if (number.written != number.sent) return;
  }
  numbers_.clear();
}

NumberTexts NumberTexts::Of(std::string_view json, const json::value& parsed,
                            std::size_t max_depth) {
  std::vector<NumberTexts> out(1);
  if (MayHoldRewrittenNumbers(json, parsed)) Collect(json, max_depth, out);
  return std::move(out.front());
}

std::vector<NumberTexts> NumberTexts::OfElements(std::string_view json, const json::array& parsed,
                                                 std::size_t max_depth) {
  // Two or more lists, so that the collector indexes by element even for a one-item batch.
  std::vector<NumberTexts> out(parsed.size() + 1);
  bool may = false;
  for (const json::value& item : parsed) may = may || MayHoldRewrittenNumbers(json, item);
  if (may) Collect(json, max_depth, out);
  out.pop_back();
  return out;
}

namespace {

bool IsNumberChar(char ch) {
  return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E';
}

}  // namespace

void NumberTexts::Restore(std::string& encoded) const {
  if (numbers_.empty()) return;
  std::string out;
  out.reserve(encoded.size() + encoded.size() / 8);
  std::size_t next = 0;  // the first number of the document not yet matched
  std::size_t i = 0;
  while (i < encoded.size()) {
    const char ch = encoded[i];
    if (ch == '"') {  // a string or key, copied with its escapes
      std::size_t end = i + 1;
      while (end < encoded.size() && encoded[end] != '"') end += encoded[end] == '\\' ? 2 : 1;
      out.append(encoded, i, end + 1 - i);
      i = end + 1;
      continue;
    }
    if (ch != '-' && (ch < '0' || ch > '9')) {
      out.push_back(ch);
      ++i;
      continue;
    }
    std::size_t end = i + 1;
    while (end < encoded.size() && IsNumberChar(encoded[end])) ++end;
    const std::string_view token(encoded.data() + i, end - i);
    std::size_t match = next;
    while (match < numbers_.size() && numbers_[match].written != token) ++match;
    if (match < numbers_.size()) {
      out.append(numbers_[match].sent);
      next = match + 1;
    } else {
      out.append(token);
    }
    i = end;
  }
  encoded = std::move(out);
}

}  // namespace herald
