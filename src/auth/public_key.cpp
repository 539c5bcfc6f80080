#include "auth/public_key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <climits>
#include <memory>
#include <stdexcept>

namespace herald::auth {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

BioPtr ReadBio(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::bad_alloc();
  return bio;
}

PkeyPtr ReadKey(std::string_view pem) {
  PkeyPtr key(PEM_read_bio_PUBKEY(ReadBio(pem).get(), nullptr, nullptr, nullptr));
  if (!key) {
    X509Ptr cert(PEM_read_bio_X509(ReadBio(pem).get(), nullptr, nullptr, nullptr));
    if (cert) key.reset(X509_get_pubkey(cert.get()));
  }
  // Failed attempts leave entries on this thread's OpenSSL error queue; don't leak them to
  // whatever uses OpenSSL next on this thread.
  ERR_clear_error();
  return key;
}

void CheckKeyFits(Algorithm algorithm, EVP_PKEY* key) {
  switch (algorithm) {
    case Algorithm::kRs256:
      if (!EVP_PKEY_is_a(key, "RSA")) throw std::invalid_argument("RS256 needs an RSA public key");
      if (EVP_PKEY_get_bits(key) < 2048) {
        throw std::invalid_argument("RS256 public key is shorter than 2048 bits");
      }
      return;
    case Algorithm::kEs256: {
      char group[64] = {};
      std::size_t group_length = 0;
      if (!EVP_PKEY_is_a(key, "EC") ||
          EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &group_length) != 1 ||
          std::string_view(group, group_length) != "prime256v1") {
        ERR_clear_error();
        throw std::invalid_argument("ES256 needs an EC public key on curve P-256");
      }
      return;
    }
    case Algorithm::kHs256:
      break;
  }
  throw std::invalid_argument("HS256 takes a secret, not a public key");
}

std::string WritePem(EVP_PKEY* key) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), key) != 1) {
    ERR_clear_error();
    throw std::bad_alloc();
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return {data, static_cast<std::size_t>(size)};
}

}  // namespace

std::string NormalizePublicKeyPem(Algorithm algorithm, std::string_view pem) {
  if (pem.empty()) throw std::invalid_argument("public key PEM is empty");
  if (pem.size() > INT_MAX / 2) throw std::invalid_argument("public key PEM is too large");
  PkeyPtr key = ReadKey(pem);
  if (!key) {
    throw std::invalid_argument(
        "not a PEM public key (expected -----BEGIN PUBLIC KEY----- or a certificate)");
  }
  CheckKeyFits(algorithm, key.get());
  return WritePem(key.get());
}

}  // namespace herald::auth
