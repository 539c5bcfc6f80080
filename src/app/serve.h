// `herald serve`: the composition root. Builds config -> metrics -> store -> hub -> listener,
// runs until SIGTERM/SIGINT, drains, and tears down in reverse order.
#pragma once

#include "app/config.h"

namespace herald::app {

// Returns the process exit status: 0 after a clean drain.
int Serve(const ServeConfig& config);

// `herald check-config`: what Serve checks of `config` before it opens anything (the listen
// address, the token keys: secret length, key files, algorithm), without binding, opening the
// store or creating the development secret. Throws std::invalid_argument with a one-line reason.
void CheckServeConfig(const ServeConfig& config);

}  // namespace herald::app
