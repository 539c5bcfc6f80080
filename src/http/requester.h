// Who made one non-stream request: its client address and, once a handler has verified its
// token (AuthenticateAndCharge), its user. One per request, in the session's frame; the session
// charges the response's bytes to it (server.cpp, docs/DECISIONS.md "Limits").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"

namespace herald::http {

struct Requester {
  std::string_view peer;  // the client's address ("" if unknown)
  std::optional<UserId> user;

  // The key of its share of the response-bytes budget: its user's, else its address's.
  std::string BudgetKey() const {
    return user ? "user:" + user->str() : "address:" + std::string(peer);
  }
};

}  // namespace herald::http
