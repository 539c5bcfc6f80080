// Test-only helpers: keys generated at test time, tokens signed by libjwt or crafted by hand.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "auth/verifier.h"

namespace herald::auth::fixtures {

inline constexpr std::chrono::system_clock::time_point kNow{std::chrono::seconds{1'700'000'000}};
inline constexpr std::string_view kSecret = "test-secret-0123456789abcdef0123456789";

// Seconds since the epoch of kNow + offset, for building claim JSON.
long At(std::chrono::seconds offset);

struct KeyPair {
  std::string private_pem;
  std::string public_pem;       // "BEGIN PUBLIC KEY"
  std::string certificate_pem;  // self-signed, carrying public_pem's key
};

// Generated once per process with OpenSSL's EVP API.
const KeyPair& Rsa2048();
const KeyPair& OtherRsa2048();
const KeyPair& EcP256();
const KeyPair& OtherEcP256();
KeyPair GenerateRsa(int bits);
KeyPair GenerateEc(const char* curve);

// Signs with libjwt. `alg` is "HS256", "RS256" or "ES256"; `key` the secret or private PEM;
// `grants_json` a JSON object of claims; `headers_json` a JSON object of extra header fields.
std::string SignWithLibjwt(std::string_view alg, std::string_view key, std::string_view grants_json,
                           std::string_view headers_json = "");

// Builds "<b64(header)>.<b64(payload)>.<b64(signature)>" from raw JSON text and raw bytes.
std::string Craft(std::string_view header_json, std::string_view payload_json,
                  std::string_view signature);

// HMAC-SHA256 of `data`, raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);

// Crafts a token with the given header and payload JSON and a valid HS256 signature over them.
std::string CraftHs256(std::string_view header_json, std::string_view payload_json,
                       std::string_view secret = kSecret);

// {"sub":"alice","exp":kNow+1h} plus `extra` (",\"k\":v" fragments appended inside the object).
std::string ClaimsJson(std::string_view extra = "");

// The error of a refused token, nullopt when it was accepted.
std::optional<VerifyError> ErrorOf(const Result<Claims>& result);

VerifierConfig Hs256Config();
VerifierConfig KeyConfig(Algorithm algorithm, std::map<std::string, std::string> public_keys_pem);

}  // namespace herald::auth::fixtures
