// The dashboard page's security headers (issue 14): a Content-Security-Policy that lets the page
// run only its own inline script and style (by their SHA-256) and talk only to this origin, and
// may not be framed.
#pragma once

#include <string>
#include <string_view>

namespace herald::http {

// The Content-Security-Policy for `html`: 'sha256-…' sources for the content of each inline
// <script> and <style> element, connect-src 'self', img-src 'self' data:, default-src 'none',
// frame-ancestors 'none', base-uri 'none', form-action 'none'.
std::string DashboardPolicy(std::string_view html);

}  // namespace herald::http
