// `herald serve`: the composition root. Builds config -> metrics -> store -> hub -> listener,
// runs until SIGTERM/SIGINT, drains, and tears down in reverse order.
#pragma once

#include "app/config.h"

namespace herald::app {

// Returns the process exit status: 0 after a clean drain.
int Serve(const ServeConfig& config);

}  // namespace herald::app
