#include "auth/jwt_fixtures.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "auth/base64url.h"

namespace herald::auth::fixtures {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using JwtPtr = std::unique_ptr<jwt_t, Deleter<jwt_t, jwt_free>>;

void Require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test fixture: ") + what);
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

KeyPair Export(EVP_PKEY* key) {
  KeyPair pair;
  BioPtr priv(BIO_new(BIO_s_mem()));
  Require(PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "write private key");
  pair.private_pem = BioText(priv.get());
  BioPtr pub(BIO_new(BIO_s_mem()));
  Require(PEM_write_bio_PUBKEY(pub.get(), key) == 1, "write public key");
  pair.public_pem = BioText(pub.get());

  X509Ptr cert(X509_new());
  Require(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("herald-test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  Require(X509_sign(cert.get(), key, EVP_sha256()) > 0, "sign certificate");
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  Require(PEM_write_bio_X509(cert_bio.get(), cert.get()) == 1, "write certificate");
  pair.certificate_pem = BioText(cert_bio.get());
  return pair;
}

}  // namespace

long At(std::chrono::seconds offset) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::seconds>((kNow + offset).time_since_epoch()).count());
}

KeyPair GenerateRsa(int bits) {
  PkeyPtr key(EVP_RSA_gen(static_cast<unsigned>(bits)));
  Require(key != nullptr, "RSA key generation");
  return Export(key.get());
}

KeyPair GenerateEc(const char* curve) {
  PkeyPtr key(EVP_EC_gen(curve));
  Require(key != nullptr, "EC key generation");
  return Export(key.get());
}

const KeyPair& Rsa2048() {
  static const KeyPair pair = GenerateRsa(2048);
  return pair;
}
const KeyPair& OtherRsa2048() {
  static const KeyPair pair = GenerateRsa(2048);
  return pair;
}
const KeyPair& EcP256() {
  static const KeyPair pair = GenerateEc("P-256");
  return pair;
}
const KeyPair& OtherEcP256() {
  static const KeyPair pair = GenerateEc("P-256");
  return pair;
}

std::string SignWithLibjwt(std::string_view alg, std::string_view key, std::string_view grants_json,
                           std::string_view headers_json) {
  jwt_t* raw = nullptr;
  Require(jwt_new(&raw) == 0, "jwt_new");
  JwtPtr jwt(raw);
  Require(jwt_add_grants_json(jwt.get(), std::string(grants_json).c_str()) == 0, "grants");
  if (!headers_json.empty()) {
    Require(jwt_add_headers_json(jwt.get(), std::string(headers_json).c_str()) == 0, "headers");
  }
  const jwt_alg_t libjwt_alg = jwt_str_alg(std::string(alg).c_str());
  Require(jwt_set_alg(jwt.get(), libjwt_alg, reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) == 0,
          "jwt_set_alg");
  char* token = jwt_encode_str(jwt.get());
  Require(token != nullptr, "jwt_encode_str");
  std::string result(token);
  std::free(token);
  return result;
}

std::string Craft(std::string_view header_json, std::string_view payload_json,
                  std::string_view signature) {
  return EncodeBase64Url(header_json) + "." + EncodeBase64Url(payload_json) + "." +
         EncodeBase64Url(signature);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Require(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
               &length) != nullptr,
          "HMAC");
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string CraftHs256(std::string_view header_json, std::string_view payload_json,
                       std::string_view secret) {
  const std::string input = EncodeBase64Url(header_json) + "." + EncodeBase64Url(payload_json);
  return input + "." + EncodeBase64Url(HmacSha256(secret, input));
}

std::string ClaimsJson(std::string_view extra) {
  return "{\"sub\":\"alice\",\"exp\":" + std::to_string(At(std::chrono::hours{1})) +
         std::string(extra) + "}";
}

std::optional<VerifyError> ErrorOf(const Result<Claims>& result) {
  if (result) return std::nullopt;
  return ReasonOf(result.error());
}

VerifierConfig Hs256Config() {
  VerifierConfig config;
  config.algorithm = Algorithm::kHs256;
  config.hs256_secret = std::string(kSecret);
  return config;
}

VerifierConfig KeyConfig(Algorithm algorithm, std::map<std::string, std::string> public_keys_pem) {
  VerifierConfig config;
  config.algorithm = algorithm;
  config.public_keys_pem = std::move(public_keys_pem);
  return config;
}

}  // namespace herald::auth::fixtures
