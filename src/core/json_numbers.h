// Numbers delivered exactly as they were published (issue 14).
//
// Boost.JSON 1.81 parses every number into an int64, a uint64 or a double, and writes doubles in
// its own form: "-12.5" comes back as "-1.25E1", "1.0" as "1E0", an integer beyond 64 bits as
// "1.2345678901234568E29", "-0" as "0". An event must reach its subscribers with each number as
// its publisher wrote it, so the publish routes note the text of every number while parsing and
// put it back into the encoded event. The common event, whose numbers are all plain integers,
// costs one walk of the parsed tree and nothing more.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

class NumberTexts {
 public:
  // The numbers of `json`, which parsed into `parsed` with at most `max_depth` levels, in
  // document order; empty when Boost.JSON writes every one of them back as sent.
  static NumberTexts Of(std::string_view json, const boost::json::value& parsed,
                        std::size_t max_depth);
  // The same for a top-level array, one NumberTexts per element (a batch: each item is encoded
  // on its own).
  static std::vector<NumberTexts> OfElements(std::string_view json,
                                             const boost::json::array& parsed,
                                             std::size_t max_depth);

  bool empty() const { return numbers_.empty(); }

  // `encoded`, which boost::json::serialize wrote for (a part of) the parsed document, possibly
  // with members removed or added, with each of the document's numbers put back as sent. Numbers
  // are matched in document order by the form Boost.JSON writes for them, so a number that was
  // not in the document (a timestamp added by the hub) is left as written.
  void Restore(std::string& encoded) const;

 private:
  struct Number {
    std::string written;  // what boost::json::serialize writes for the parsed value
    std::string sent;     // the text in the document
  };
  friend class NumberCollector;
  void Prune();  // empties the list when every number is written back as sent

  std::vector<Number> numbers_;
};

}  // namespace herald
