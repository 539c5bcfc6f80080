#include "auth/minter.h"

#include <jwt.h>
#include <openssl/err.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>

#include "core/ids.h"

namespace herald::auth {
namespace {

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
struct CFree {
  // libjwt 1.10 allocates the token with malloc; this deleter is the RAII that frees it.
  void operator()(char* text) const { std::free(text); }  // NOLINT(cppcoreguidelines-no-malloc)
};

void Check(int rc) {
  if (rc == ENOMEM) throw std::bad_alloc();
  if (rc != 0) throw std::invalid_argument("could not build token");
}

}  // namespace

std::string MintHs256(std::string_view secret, std::string_view sub, std::string_view scope,
                      std::chrono::seconds ttl, std::chrono::system_clock::time_point now) {
  if (secret.empty()) throw std::invalid_argument("cannot mint a token without a secret");
  if (secret.size() > INT_MAX / 2) throw std::invalid_argument("secret is too large");
  if (!IsValidClientId(sub)) {
    throw std::invalid_argument("sub must be 1-256 bytes without control characters");
  }
  if (HasControlCharacter(scope)) {
    throw std::invalid_argument("scope must not contain control characters");
  }
  if (ttl <= std::chrono::seconds{0}) throw std::invalid_argument("ttl must be positive");

  const long iat = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  jwt_t* raw = nullptr;
  Check(jwt_new(&raw));
  const std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  Check(jwt_add_grant(jwt.get(), "sub", std::string(sub).c_str()));
  if (!scope.empty()) Check(jwt_add_grant(jwt.get(), "scope", std::string(scope).c_str()));
  Check(jwt_add_grant_int(jwt.get(), "iat", iat));
  Check(jwt_add_grant_int(jwt.get(), "exp", iat + static_cast<long>(ttl.count())));
  Check(jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                    static_cast<int>(secret.size())));
  const std::unique_ptr<char, CFree> token(jwt_encode_str(jwt.get()));
  ERR_clear_error();
  if (!token) throw std::bad_alloc();
  return {token.get()};
}

}  // namespace herald::auth
