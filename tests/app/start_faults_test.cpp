// The store's file is damaged or held when `herald serve` starts (issue 14): the process says
// why in one line and exits 2, every time, and leaves the file as it found it — no crash loop
// that rewrites or eats data. The real binary, on a temporary data directory.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace herald::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kSecret[] = "start-faults-secret-start-faults-secret";

struct ServeRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// `herald serve` on `data_dir` (bounded by `timeout 30`), to its end.
ServeRun Serve(const fs::path& data_dir) {
  const std::string command = std::string("timeout 30 ") + HERALD_BINARY +
                              " serve --listen 127.0.0.1:0 --log-level warn --jwt-secret " +
                              kSecret + " --data-dir '" + data_dir.string() + "' 2>&1";
  ServeRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string Contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

class StartFaultsTest : public ::testing::Test {
 protected:
  StartFaultsTest() {
    dir_ = fs::temp_directory_path() / ("herald-start-faults-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  ~StartFaultsTest() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path Database() const { return dir_ / "herald.db"; }

  fs::path dir_;
};

TEST_F(StartFaultsTest, ACorruptDatabaseFileIsAOneLineErrorWithExit2AndStaysUntouched) {
  std::string garbage = std::string("SQLite format 3") + '\0';
  std::mt19937 random(7);
  for (int i = 0; i < 8192; ++i) garbage += static_cast<char>(random() & 0xff);
  std::ofstream(Database(), std::ios::binary) << garbage;
  for (int attempt = 0; attempt < 2; ++attempt) {  // a supervisor restarting it gets the same
    const ServeRun run = Serve(dir_);
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_EQ(run.output, "herald: cannot open SQLite store '" + Database().string() +
                              "': cannot prepare statement: file is not a database\n");
    EXPECT_EQ(Contents(Database()), garbage) << "the file is left as it was";
  }
}

TEST_F(StartFaultsTest, ADatabaseAnotherProcessHoldsLockedIsAOneLineErrorWithExit2) {
  // Another writer holds the file past the hub's busy timeout.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Database().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE other (x); BEGIN EXCLUSIVE; INSERT INTO other VALUES (1)",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  const ServeRun run = Serve(dir_);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  const std::string prefix = "herald: cannot open SQLite store '" + Database().string() + "': ";
  const std::string suffix = "database is locked\n";
  EXPECT_EQ(run.output.rfind(prefix, 0), 0u) << run.output;
  EXPECT_TRUE(run.output.ends_with(suffix)) << run.output;
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

}  // namespace
}  // namespace herald::testing
