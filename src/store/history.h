// Drawing the random history of a new store (spec §4: ids tell this store's history apart).
#pragma once

#include <cstdint>
#include <random>

namespace herald::store {

// A fresh random history from the OS random source; never 0, so that a default-constructed
// EventId never matches a real store.
inline std::uint32_t NewHistory() {
  std::random_device device;
  std::uint32_t history = 0;
  while (history == 0) history = static_cast<std::uint32_t>(device());
  return history;
}

}  // namespace herald::store
