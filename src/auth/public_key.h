// Checks a configured PEM public key with OpenSSL before any token arrives.
#pragma once

#include <string>
#include <string_view>

#include "auth/verifier_config.h"

namespace herald::auth {

// Returns the key as a "BEGIN PUBLIC KEY" (SubjectPublicKeyInfo) PEM, the form libjwt reads.
// Accepts that form or a "BEGIN CERTIFICATE" (its key is taken; the certificate itself is not
// checked). kRs256 needs an RSA key of at least 2048 bits, kEs256 an EC key on P-256.
// Throws std::invalid_argument with a one-line reason otherwise. Thread-safe.
std::string NormalizePublicKeyPem(Algorithm algorithm, std::string_view pem);

}  // namespace herald::auth
