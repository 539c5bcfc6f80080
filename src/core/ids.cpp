#include "core/ids.h"

namespace herald {

namespace {

// A UTF-8 sequence's length and the bounds of its second byte, by its lead byte (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF); length 0 for a byte that cannot lead.
struct Utf8Lead {
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
};

Utf8Lead LeadOf(unsigned char c) {
  Utf8Lead lead;
  if (c >= 0xc2 && c <= 0xdf) {
    lead.length = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    lead.length = 3;
    if (c == 0xe0) lead.low = 0xa0;
    if (c == 0xed) lead.high = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    lead.length = 4;
    if (c == 0xf0) lead.low = 0x90;
    if (c == 0xf4) lead.high = 0x8f;
  }
  return lead;
}

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsUtf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    const Utf8Lead lead = LeadOf(c);
    if (lead.length == 0 || n - i < lead.length) return false;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < lead.low || second > lead.high) return false;
    for (std::size_t k = 2; k < lead.length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
    }
    i += lead.length;
  }
  return true;
}

}  // namespace

bool HasControlCharacter(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

bool IsValidClientId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  return IsUtf8(id) && !HasControlCharacter(id);
}

bool IsValidContextId(std::string_view id) {
  if (!IsValidClientId(id)) return false;
  if (id == "undefined" || id == "null" || id == "__CONTEXT_LOADING__" || id == "." || id == "..") {
    return false;
  }
  return id.find_first_of("/\\") == std::string_view::npos;
}

}  // namespace herald
