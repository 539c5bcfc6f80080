// herald: serve | check-config | token | tail | publish. Configuration errors exit non-zero with
// one line on stderr.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/client_commands.h"
#include "app/config.h"
#include "app/help_text.h"
#include "app/serve.h"
#include "app/token_command.h"

// Only building the command line, before the try blocks below, can throw out of main: a
// std::bad_alloc, or CLI11's ConstructionError for a badly declared option, a bug every test that
// starts the binary would show. std::terminate is the right end for either.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  // Named "herald" whatever argv[0] is, so that --help (and the manual page built from it) reads
  // "Usage: herald ..." rather than the path it was started by.
  CLI::App app{"Herald: a real-time event hub for AI-agent applications", "herald"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "herald " HERALD_VERSION,
                       "Print the version (herald X.Y.Z) and exit");

  herald::app::ServeConfig serve_config;
  CLI::App* serve = app.add_subcommand("serve", "Run the hub");
  herald::app::AddServeOptions(*serve, serve_config);
  serve->footer(herald::app::kServeHelpFooter);

  herald::app::ServeConfig check_config;
  CLI::App* check = app.add_subcommand(
      "check-config",
      "Check serve's configuration (flags, HERALD_*, --config file) without starting; print it "
      "with secrets redacted (exit 2 on an error)");
  herald::app::AddServeOptions(*check, check_config);
  check->footer(herald::app::kServeHelpFooter);

  herald::app::TokenConfig token_config;
  CLI::App* token = app.add_subcommand("token", "Mint an HS256 token and print it");
  herald::app::AddTokenOptions(*token, token_config);

  herald::app::TailConfig tail_config;
  CLI::App* tail = app.add_subcommand("tail", "Subscribe to a stream and print its events");
  herald::app::AddTailOptions(*tail, tail_config);

  herald::app::PublishConfig publish_config;
  CLI::App* publish = app.add_subcommand("publish", "Publish one event or a file of events");
  herald::app::AddPublishOptions(*publish, publish_config);
  // Set last: a subcommand copies its parent's footer when it is added.
  app.footer(herald::app::kHelpFooter);

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
    if (check->parsed()) {
      herald::app::FinishServeConfig(*check, check_config);
      herald::app::CheckServeConfig(check_config);
      std::cout << herald::app::EffectiveServeConfig(*check);
      return 0;
    }
    if (tail->parsed()) return herald::app::Tail(tail_config);
    if (publish->parsed()) return herald::app::Publish(publish_config);
    return herald::app::MintToken(token_config);
  } catch (const std::exception& e) {
    std::cerr << "herald: " << e.what() << "\n";
    return 2;
  }
}
