// The verified facts about a caller, and the pure claim checks that produce them.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "auth/verifier_config.h"
#include "auth/verify_error.h"
#include "core/error.h"
#include "core/ids.h"

namespace herald::auth {

struct Claims {
  UserId user;                                       // "sub"; satisfies herald::IsValidClientId
  std::vector<std::string> scopes;                   // "scope", space-separated; no empty entries
  std::chrono::system_clock::time_point expires_at;  // "exp"

  bool HasScope(std::string_view scope) const;
};

// Checks the registered claims of an already signature-checked payload against `config` at
// `now`: exp (required), nbf, iss, aud, sub, scope, in that order. Pure; thread-safe.
// A refusal is auth::Refusal(reason) (verify_error.h).
Result<Claims> CheckClaims(const boost::json::object& payload, const VerifierConfig& config,
                           std::chrono::system_clock::time_point now);

}  // namespace herald::auth
