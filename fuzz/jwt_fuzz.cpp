// Bytes → bearer-token verification (spec §2): SplitToken and base64url, then Verifier::Verify
// with an HS256 secret, RS256 keys (a default key and one chosen by "kid") and an ES256 key.
// A random token never carries a valid signature, so an input holding a newline is also read as
// "<header JSON>\n<payload JSON>", signed here with the HS256 secret and verified: that reaches
// libjwt's decoding and the claim checks with any header and claims.
//
// Invariants: a split token reassembles to itself; base64url decodes what it encodes and
// re-encodes what it decodes; accepted claims name a valid user, hold no empty or spaced scope
// and have not expired; a token signed with the verifier's secret is never refused as a bad
// signature (whatever else is wrong with it has its own VerifyError).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <map>
#include <string>
#include <variant>

#include "auth/base64url.h"
#include "auth/token_parts.h"
#include "auth/verifier.h"
#include "fuzz_support.h"

namespace {

namespace auth = herald::auth;
using herald::fuzz::kNow;
using herald::fuzz::Require;

// Public halves of keys made for this target; their private halves signed the RS256/ES256 seed
// tokens in fuzz/corpus/jwt and were not kept.
constexpr char kRsaDefaultKey[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA8f3ucxk44ETvxHEQDlHz\n"
    "pQHV/aEb2M34i9OjPaQQnge9u2TLndkQpQcwx2Qj28o7FTlOfZN3eMmxz/ED78YS\n"
    "nXMFQDGxzQu7PKpWRq8PeitbSCujZr2AQYDFYaNLw1E4LEO1P4QI2eUlmc5EvqCl\n"
    "gn78JaWdKE4tIC0WTCbT0ghwebDdS3g5oIuBlMuYVVDabfEICpJI+ZwBHMItR4KV\n"
    "Fr8LoZxqjam1Q/Fnn6Uq5dCRdwocWwf1YASpUw41tXBziaCFp1YDHNmE7skq331q\n"
    "M8ToWAYlCfmV9G5fq+7AgVcSlhmNELJbJw06yVUfi0fEiczsdnfXsKhovOm6knFZ\n"
    "UwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kRsaRotatedKey[] =  // selected by "kid":"rotated"
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0kdBLN5w+rSI6E/3y+ua\n"
    "0vk3aATPvO2CnWYkARBYP/vto5GMTf4YREVFrhn8rDyE3bYkAgKO5H8Ez618IWKD\n"
    "gKWm1gBaIaQCOSPiRfbFajXyKfxmKRshz++xUZEuzxe/pnyyyrAD3RR8C8dJ/O1q\n"
    "9QPArrqYCWbPGHkjYV+vBHERzNN9dR0dzT2KXle789yevTJtDN8RqXupSGlWsIdq\n"
    "+eTO4UVLePU5BhL4I+oZdAczmx22RUVTSmviKxK7Xhx/5TVV6OZgNNUWI0PuF/2+\n"
    "D9jsEEj0sNbLnbAHSuHqnGK3TZj0a7aye7dauTPPO5CfYRMU78tyRpvdki4S5oWP\n"
    "8QIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kEcKey[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE3cszLq9qIYBK28FcgsvsnuRECViX\n"
    "Bv1G0dqp7ihJs33n8idnI/9Cl77EvV9Hbm+p2yGPPBhbYlI+4k6K7Ym1kQ==\n"
    "-----END PUBLIC KEY-----\n";

auth::VerifierConfig Hs256(std::string audience, std::string issuer, std::chrono::seconds leeway) {
  auth::VerifierConfig config;
  config.algorithm = auth::Algorithm::kHs256;
  config.hs256_secret = std::string(herald::fuzz::kHs256Secret);
  config.audience = std::move(audience);
  config.issuer = std::move(issuer);
  config.leeway = leeway;
  return config;
}

auth::VerifierConfig WithKeys(auth::Algorithm algorithm,
                              std::map<std::string, std::string> public_keys_pem) {
  auth::VerifierConfig config;
  config.algorithm = algorithm;
  config.public_keys_pem = std::move(public_keys_pem);
  return config;
}

struct Verifiers {
  auth::Verifier hs256{Hs256("", "", std::chrono::seconds{30})};
  // Audience and issuer required, no leeway: the claim checks' other branches.
  auth::Verifier hs256_strict{Hs256("herald", "https://issuer.example", std::chrono::seconds{0})};
  auth::Verifier rs256{
      WithKeys(auth::Algorithm::kRs256, {{"", kRsaDefaultKey}, {"rotated", kRsaRotatedKey}})};
  auth::Verifier es256{WithKeys(auth::Algorithm::kEs256, {{"", kEcKey}})};
};

const Verifiers& TheVerifiers() {
  static const Verifiers verifiers;
  return verifiers;
}

void CheckAccepted(const herald::Result<auth::Claims>& result, std::chrono::seconds leeway) {
  if (!result) return;
  const auth::Claims* claims = &*result;
  Require(herald::IsValidClientId(claims->user.str()), "accepted claims name a valid user");
  for (const std::string& scope : claims->scopes) {
    Require(!scope.empty() && scope.find(' ') == std::string::npos,
            "accepted scopes are non-empty and unspaced");
  }
  Require(claims->expires_at + leeway > kNow, "accepted claims have not expired");
}

herald::Result<auth::Claims> Verify(std::string_view token, const auth::Verifier& verifier,
                                    std::chrono::seconds leeway) {
  herald::Result<auth::Claims> result = verifier.Verify(token, kNow);
  CheckAccepted(result, leeway);
  return result;
}

void VerifySigned(std::string_view token, const auth::Verifier& verifier,
                  std::chrono::seconds leeway) {
  const herald::Result<auth::Claims> result = Verify(token, verifier, leeway);
  Require(result || auth::ReasonOf(result.error()) != auth::VerifyError::kBadSignature,
          "a validly signed token is not refused as a bad signature");
}

void CheckStructure(std::string_view text) {
  if (const auto parts = auth::SplitToken(text)) {
    Require(std::string(parts->signing_input) + "." + std::string(parts->signature) == text,
            "a split token reassembles to itself");
  }
  if (const auto decoded = auth::DecodeBase64Url(text)) {
    Require(auth::EncodeBase64Url(*decoded) == text, "base64url re-encodes what it decodes");
  }
  const auto round_trip = auth::DecodeBase64Url(auth::EncodeBase64Url(text));
  Require(round_trip && *round_trip == text, "base64url decodes what it encodes");
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const unsigned char* done =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  Require(done != nullptr, "HMAC-SHA256 computes");
  return std::string(reinterpret_cast<const char*>(out), length);
}

// "<header>\n<payload>" → the compact token of those two JSON texts with a valid HS256 signature.
std::string SignedToken(std::string_view text, std::size_t newline) {
  const std::string input = auth::EncodeBase64Url(text.substr(0, newline)) + "." +
                            auth::EncodeBase64Url(text.substr(newline + 1));
  return input + "." + auth::EncodeBase64Url(HmacSha256(herald::fuzz::kHs256Secret, input));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = herald::fuzz::AsText(data, size);
  const Verifiers& verifiers = TheVerifiers();
  CheckStructure(text);
  Verify(text, verifiers.hs256, std::chrono::seconds{30});
  Verify(text, verifiers.rs256, std::chrono::seconds{30});
  Verify(text, verifiers.es256, std::chrono::seconds{30});
  if (const auto newline = text.find('\n'); newline != std::string_view::npos) {
    const std::string token = SignedToken(text, newline);
    VerifySigned(token, verifiers.hs256, std::chrono::seconds{30});
    VerifySigned(token, verifiers.hs256_strict, std::chrono::seconds{0});
  }
  return 0;
}
