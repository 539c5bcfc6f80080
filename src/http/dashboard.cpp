#include "http/dashboard.h"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace herald::http {
namespace {

// "'sha256-<base64>'" of `text`, as CSP hash sources are written.
std::string HashSource(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> base64{};
  const int length = EVP_EncodeBlock(base64.data(), digest.data(), static_cast<int>(size));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(base64.data()), length) + "'";
}

// The hash sources of every inline `<tag>…</tag>` element's content in `html`.
std::string InlineSources(std::string_view html, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  std::string sources;
  for (std::size_t at = html.find(open); at != std::string_view::npos; at = html.find(open, at)) {
    const std::size_t begin = at + open.size();
    const std::size_t end = html.find(close, begin);
    if (end == std::string_view::npos) break;
    sources += " " + HashSource(html.substr(begin, end - begin));
    at = end + close.size();
  }
  return sources;
}

}  // namespace

std::string DashboardPolicy(std::string_view html) {
  return "default-src 'none'; script-src" + InlineSources(html, "script") + "; style-src" +
         InlineSources(html, "style") +
         "; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
         "frame-ancestors 'none'";
}

}  // namespace herald::http
