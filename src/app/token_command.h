// `herald token`: mints an HS256 token and prints it, alone, on stdout (spec §9).
#pragma once

#include <CLI/CLI.hpp>

namespace herald::app {

struct TokenConfig {
  std::string sub;
  std::string scope;
  std::int64_t ttl = 3600;
  std::string jwt_secret;
  std::string data_dir;
};

void AddTokenOptions(CLI::App& command, TokenConfig& config);
// Throws std::invalid_argument / std::runtime_error with a one-line reason.
int MintToken(const TokenConfig& config);

}  // namespace herald::app
