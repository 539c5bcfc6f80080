#include "store/open_store.h"

#include <fmt/format.h>

#include <stdexcept>
#include <string_view>

#include "store/memory_store.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"

namespace herald::store {

std::unique_ptr<EventStore> OpenStore(const StoreOptions& options) {
  const std::string_view url = options.url;
  if (url == "memory:") return std::make_unique<MemoryStore>();
  if (url.starts_with("sqlite:")) {
    const std::string path(url.substr(std::string_view("sqlite:").size()));
    if (path.empty()) throw std::invalid_argument("store URL sqlite: needs a file path");
    try {
      return std::make_unique<SqliteStore>(
          SqliteStoreOptions{.path = path, .durability = options.durability});
    } catch (const std::runtime_error& error) {
      throw std::invalid_argument(
          fmt::format("cannot open SQLite store '{}': {}", path, error.what()));
    }
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    try {
      return std::make_unique<PgStore>(PgStoreOptions{.url = std::string(url)});
    } catch (const std::runtime_error& error) {
      // libpq's messages name the host and port, never the password.
      throw std::invalid_argument(fmt::format("cannot open PostgreSQL store: {}", error.what()));
    }
  }
  // Name only the scheme: the rest of a URL may hold credentials.
  const std::string_view scheme = url.substr(0, url.find(':'));
  throw std::invalid_argument(fmt::format(
      "unsupported store scheme '{}' (expected memory:, sqlite:PATH or postgresql://…)", scheme));
}

}  // namespace herald::store
