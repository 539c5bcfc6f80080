// herald: serve | token. Configuration errors exit non-zero with one line on stderr.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/config.h"
#include "app/serve.h"
#include "app/token_command.h"

int main(int argc, char** argv) {
  CLI::App app{"Herald: a real-time event hub for AI-agent applications"};
  app.require_subcommand(1);

  herald::app::ServeConfig serve_config;
  CLI::App* serve = app.add_subcommand("serve", "Run the hub");
  herald::app::AddServeOptions(*serve, serve_config);

  herald::app::TokenConfig token_config;
  CLI::App* token = app.add_subcommand("token", "Mint an HS256 token and print it");
  herald::app::AddTokenOptions(*token, token_config);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (serve->parsed()) {
      herald::app::FinishServeConfig(*serve, serve_config);
      return herald::app::Serve(serve_config);
    }
    return herald::app::MintToken(token_config);
  } catch (const std::exception& e) {
    std::cerr << "herald: " << e.what() << "\n";
    return 2;
  }
}
