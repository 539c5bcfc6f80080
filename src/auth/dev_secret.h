// The development-mode HS256 secret kept in the data directory (spec §2).
#pragma once

#include <filesystem>
#include <string>

namespace herald::auth {

// Returns the secret in <data_dir>/dev-secret (surrounding whitespace trimmed). When the file is
// absent, creates data_dir if needed and the file with mode 0600 holding 32 bytes from OpenSSL's
// RAND_bytes as 64 lowercase hex digits and a newline. Creation is atomic (write a temporary
// file, then link(2) it into place), so concurrent first runs agree on one secret and no reader
// ever sees a partial file. Throws std::runtime_error with a one-line reason (path and cause) on
// I/O failure, an empty file, or one larger than 4 KiB. Blocking file I/O: call at start-up,
// never on an I/O thread.
std::string LoadOrCreateDevSecret(const std::filesystem::path& data_dir);

}  // namespace herald::auth
