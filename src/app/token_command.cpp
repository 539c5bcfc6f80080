#include "app/token_command.h"

#include <iostream>

#include "auth/dev_secret.h"
#include "auth/minter.h"

namespace herald::app {

void AddTokenOptions(CLI::App& command, TokenConfig& c) {
  command.add_option("--sub", c.sub, "The user id (sub claim)")->required();
  command.add_option("--scope", c.scope, "Space-separated scopes, e.g. \"events:publish admin\"");
  command.add_option("--ttl", c.ttl, "Lifetime in seconds")->capture_default_str();
  command.add_option("--jwt-secret", c.jwt_secret, "HS256 secret")->envname("HERALD_JWT_SECRET");
  command.add_option("--data-dir", c.data_dir, "Use the development secret of this data dir")
      ->envname("HERALD_DATA_DIR");
}

int MintToken(const TokenConfig& c) {
  std::string secret = c.jwt_secret;
  if (secret.empty()) {
    if (c.data_dir.empty()) {
      throw std::invalid_argument("give --jwt-secret or --data-dir (development secret)");
    }
    secret = auth::LoadOrCreateDevSecret(c.data_dir);
  }
  std::cout << auth::MintHs256(secret, c.sub, c.scope, std::chrono::seconds(c.ttl),
                               std::chrono::system_clock::now())
            << "\n";
  return 0;
}

}  // namespace herald::app
