// The `main` of the fuzz targets in ordinary builds: runs LLVMFuzzerTestOneInput once over every
// file under the directories given, so the committed corpora and regression inputs are replayed
// by `make test` (CTest fuzz_replay_<name>) under every build's sanitizers. A crash or broken
// invariant aborts, which fails the test; the file being replayed was printed just before.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// Every regular file under `dir`, sorted, so runs replay in the same order.
std::vector<fs::path> InputsUnder(const fs::path& dir) {
  std::vector<fs::path> inputs;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

std::vector<std::uint8_t> ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " DIR...\n";
    return 2;
  }
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path dir = argv[i];
    // A missing directory is a misconfigured test, not an empty corpus.
    if (!fs::is_directory(dir)) {
      std::cerr << "not a directory: " << dir << "\n";
      return 2;
    }
    for (const fs::path& input : InputsUnder(dir)) {
      std::cout << input.string() << std::endl;
      const std::vector<std::uint8_t> bytes = ReadBytes(input);
      // An empty vector's data() may be null; libFuzzer passes a valid pointer even for size 0.
      const std::uint8_t empty = 0;
      LLVMFuzzerTestOneInput(bytes.empty() ? &empty : bytes.data(), bytes.size());
      ++replayed;
    }
  }
  std::cout << "replayed " << replayed << " inputs\n";
  return replayed > 0 ? 0 : 1;
}
