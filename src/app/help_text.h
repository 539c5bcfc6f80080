// The prose of `herald --help` beyond CLI11's option lists: how configuration is read, exit
// status, examples. It is also the source of the manual page herald(1), which help2man builds
// from `--help` when packaging (packaging/man/make-manpage.sh): a heading line ending in ':'
// becomes a section ("Environment:", "Examples:"), an indented line a paragraph.
#pragma once

namespace herald::app {

// After the list of subcommands in `herald --help`.
inline constexpr const char* kHelpFooter =
    R"(Run 'herald SUBCOMMAND --help' for the options of one subcommand.

Exit status:
  0      success; for serve, a clean drain after SIGTERM or SIGINT
  1      publish: the hub answered with a status other than 200
  2      a configuration error or a failure, reported in one line on standard error
  100+   the command line could not be parsed (an unknown option, a missing or bad value)

Environment:
  serve and check-config read every option from its flag, from the environment variable
  HERALD_<OPTION_IN_CAPS> (--jwt-secret: HERALD_JWT_SECRET) or from the TOML file named by
  --config (jwt-secret = "..."). A flag wins over the environment, which wins over the file;
  check-config prints the result as such a file. token reads HERALD_JWT_SECRET and
  HERALD_DATA_DIR; tail and publish read HERALD_URL and HERALD_TOKEN.

Examples:
  Development mode: listen on 127.0.0.1:8080, keep the SQLite store and a generated secret in
  ./herald-data, print a token and the dashboard's address:
    $ herald serve --dev
  A hub for other machines, verifying HS256 tokens (the secret needs 32 bytes or more):
    $ HERALD_JWT_SECRET=$(cat secret) herald serve --listen 0.0.0.0:8080 --data-dir /srv/herald
  Check a configuration as serve would at start, without starting:
    $ herald check-config --config /etc/herald/herald.toml
  A token for user alice that may publish for any user:
    $ herald token --sub alice --scope events:publish --jwt-secret "$SECRET"
  Print alice's AG-UI events, one JSON object a line, resuming when the connection drops:
    $ herald tail --token "$TOKEN" --stream agui
  Publish one event for alice, with the token in HERALD_TOKEN:
    $ herald publish --user alice --event '{"type":"RUN_STARTED","threadId":"t1","runId":"r1"}')";

// After the options of `herald serve --help` and `herald check-config --help`.
inline constexpr const char* kServeHelpFooter =
    R"(Every option may also be given as the environment variable HERALD_<OPTION_IN_CAPS>
(--jwt-secret: HERALD_JWT_SECRET) or as a key of the TOML file named by --config
(listen = "0.0.0.0:8080"); a flag wins over the environment, which wins over the file.)";

}  // namespace herald::app
