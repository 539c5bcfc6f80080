#include "auth/verifier.h"

#include <jwt.h>
#include <openssl/err.h>
#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "auth/public_key.h"
#include "auth/token_parts.h"

namespace herald::auth {
namespace {

namespace json = boost::json;

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};

std::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kHs256:
      return "HS256";
    case Algorithm::kRs256:
      return "RS256";
    case Algorithm::kEs256:
      return "ES256";
  }
  return "";
}

jwt_alg_t LibjwtAlgorithm(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kHs256:
      return JWT_ALG_HS256;
    case Algorithm::kRs256:
      return JWT_ALG_RS256;
    case Algorithm::kEs256:
      return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

// Header parameters other than "alg". libjwt 1.10 refuses a "typ" other than "JWT" (compared
// without case), so such tokens are reported as malformed rather than as a bad signature. Key
// hints ("jwk", "jku", "x5u", "x5c") are ignored: keys come from configuration only.
bool HeaderAcceptable(const json::object& header) {
  // RFC 7515 §4.1.11: extensions marked critical must be understood; we understand none.
  if (header.contains("crit")) return false;
  if (const json::value* typ = header.if_contains("typ")) {
    const json::string* text = typ->if_string();
    if (text == nullptr || text->size() != 3 || strncasecmp(text->data(), "JWT", 3) != 0) {
      return false;
    }
  }
  if (const json::value* kid = header.if_contains("kid"); kid != nullptr && !kid->is_string()) {
    return false;
  }
  return true;
}

}  // namespace

Verifier::Verifier(VerifierConfig config)
    : config_(std::move(config)),
      cache_(std::make_unique<TokenCache>(config_.cache_entries, config_.leeway)) {
  if (config_.leeway < std::chrono::seconds{0} || config_.leeway > kMaxLeeway) {
    throw std::invalid_argument("JWT leeway must be between 0 and " +
                                std::to_string(kMaxLeeway.count()) + " seconds");
  }
  if (config_.algorithm == Algorithm::kHs256) {
    if (config_.hs256_secret.empty()) throw std::invalid_argument("HS256 needs a non-empty secret");
    if (config_.hs256_secret.size() > INT_MAX / 2) {
      throw std::invalid_argument("HS256 secret is too large");
    }
    if (!config_.public_keys_pem.empty()) {
      throw std::invalid_argument("HS256 takes a secret, not public keys");
    }
    return;
  }
  const std::string_view name = AlgorithmName(config_.algorithm);
  if (!config_.hs256_secret.empty()) {
    throw std::invalid_argument(std::string(name) + " takes public keys, not a secret");
  }
  if (config_.public_keys_pem.empty()) {
    throw std::invalid_argument(std::string(name) + " needs at least one PEM public key");
  }
  for (auto& [kid, pem] : config_.public_keys_pem) {
    try {
      pem = NormalizePublicKeyPem(config_.algorithm, pem);
    } catch (const std::invalid_argument& error) {
      const std::string which = kid.empty() ? "default key" : "key \"" + kid + "\"";
      throw std::invalid_argument(which + ": " + error.what());
    }
  }
}

Result<Claims> Verifier::Verify(std::string_view token,
                                std::chrono::system_clock::time_point now) const {
  if (std::optional<Claims> cached = cache_->Find(token, now)) return *std::move(cached);
  std::optional<TokenParts> parts = SplitToken(token);
  if (!parts) return Refusal(VerifyError::kMalformed);

  // The algorithm comes from configuration. Compared exactly: "none", "hs256", or HS256 offered
  // to an RS256 verifier (which libjwt would check with the PEM text as HMAC key) all stop here.
  const json::value* alg = parts->header.if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return Refusal(VerifyError::kMalformed);
  if (alg->get_string() != AlgorithmName(config_.algorithm))
    return Refusal(VerifyError::kWrongAlgorithm);
  if (!HeaderAcceptable(parts->header)) return Refusal(VerifyError::kMalformed);
  if (parts->signature.empty()) return Refusal(VerifyError::kBadSignature);
  // libjwt parses header and claims before it checks the signature, and reports a claim it
  // cannot read as a bad signature: name the real problem instead.
  if (!parts->portable) return Refusal(VerifyError::kUnverifiableClaims);

  const std::string* key = &config_.hs256_secret;
  if (config_.algorithm != Algorithm::kHs256) {
    auto found = config_.public_keys_pem.end();
    if (const json::value* kid = parts->header.if_contains("kid")) {
      found = config_.public_keys_pem.find(std::string(kid->get_string()));
    }
    if (found == config_.public_keys_pem.end()) found = config_.public_keys_pem.find("");
    if (found == config_.public_keys_pem.end()) return Refusal(VerifyError::kUnknownKey);
    key = &found->second;
  }

  // Thread safety: libjwt 1.10.2's jwt_decode keeps its state on the stack, in a strdup'd copy
  // of the token and in the jwt_t it returns; the library has no mutable globals (its .data and
  // .bss hold only the toolchain's 8 bytes each; settable allocators arrived in 1.12). Jansson
  // and OpenSSL 3 are thread-safe for unshared objects. SplitToken ran first on purpose: libjwt's
  // base64 decoder (libb64) silently skips characters outside the alphabet.
  const std::string text(token);  // libjwt wants a NUL-terminated string
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key->data()),
                            static_cast<int>(key->size()));
  const std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  ERR_clear_error();  // a failed verification leaves entries on this thread's OpenSSL queue
  if (rc == ENOMEM) throw std::bad_alloc();
  if (rc != 0 || !jwt) return Refusal(VerifyError::kBadSignature);
  // Defence in depth: the algorithm libjwt actually verified with must be the configured one.
  if (jwt_get_alg(jwt.get()) != LibjwtAlgorithm(config_.algorithm)) {
    return Refusal(VerifyError::kWrongAlgorithm);
  }
  Result<Claims> result = CheckClaims(parts->payload, config_, now);
  if (result) cache_->Insert(token, *result, now);
  return result;
}

}  // namespace herald::auth
