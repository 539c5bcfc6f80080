// The dashboard's Content-Security-Policy: each inline script and style by its SHA-256 (checked
// against hashes computed independently with Python's hashlib), nothing else.
#include "http/dashboard.h"

#include <gtest/gtest.h>

namespace herald::http {
namespace {

TEST(DashboardPolicyTest, AllowsExactlyThePagesInlineScriptsAndStylesAndNoFraming) {
  EXPECT_EQ(DashboardPolicy("<html><style>p{color:red}</style><body><script>alert(1)</script>"
                            "<script></script></body></html>"),
            "default-src 'none'; "
            "script-src 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=' "
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='; "
            "style-src 'sha256-p0bF+un5yUb9MBO6xRb8kPHlY2BdpHVtLiFkDrZPF64='; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'");
}

TEST(DashboardPolicyTest, APageWithoutInlineCodeMayRunNone) {
  EXPECT_EQ(DashboardPolicy("<html><script>unclosed"),
            "default-src 'none'; script-src; style-src; connect-src 'self'; img-src 'self' "
            "data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
}

}  // namespace
}  // namespace herald::http
