// `herald serve`: turns the configuration into the composition root's options (app/composition.h),
// starts the Node, prints the start-up lines, runs until SIGTERM/SIGINT and drains.
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
