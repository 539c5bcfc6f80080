#include "auth/dev_secret.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace herald::auth {
namespace {

namespace fs = std::filesystem;

class DevSecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "herald-auth-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void WriteFile(const fs::path& path, std::string_view text) {
    std::ofstream(path, std::ios::binary) << text;
  }

  fs::path dir_;
};

TEST_F(DevSecretTest, CreatesPrivateFileOnceAndReturnsSameSecretAfterwards) {
  const std::string first = LoadOrCreateDevSecret(dir_);
  EXPECT_EQ(first.size(), 64u);
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos) << first;

  const fs::path file = dir_ / "dev-secret";
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(file), first + "\n");

  EXPECT_EQ(LoadOrCreateDevSecret(dir_), first);
  EXPECT_EQ(ReadFile(file), first + "\n");
}

TEST_F(DevSecretTest, DrawsADifferentSecretForEachDataDirectory) {
  EXPECT_NE(LoadOrCreateDevSecret(dir_ / "a"), LoadOrCreateDevSecret(dir_ / "b"));
}

TEST_F(DevSecretTest, CreatesMissingDataDirectoryAndLeavesNoTemporaryFiles) {
  const fs::path nested = dir_ / "x" / "y";
  LoadOrCreateDevSecret(nested);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(nested)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"dev-secret"});
}

TEST_F(DevSecretTest, ReadsAnExistingSecretTrimmingWhitespace) {
  WriteFile(dir_ / "dev-secret", "  my own secret \r\n");
  EXPECT_EQ(LoadOrCreateDevSecret(dir_), "my own secret");
}

TEST_F(DevSecretTest, RefusesEmptyOrOversizedSecretFile) {
  WriteFile(dir_ / "dev-secret", "\n  \n");
  EXPECT_THROW(LoadOrCreateDevSecret(dir_), std::runtime_error);
  WriteFile(dir_ / "dev-secret", std::string(5000, 'a'));
  EXPECT_THROW(LoadOrCreateDevSecret(dir_), std::runtime_error);
}

TEST_F(DevSecretTest, ReportsIoFailureWithPathOnOneLine) {
  WriteFile(dir_ / "file", "not a directory");
  try {
    LoadOrCreateDevSecret(dir_ / "file");
    ADD_FAILURE() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find((dir_ / "file").string()), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST_F(DevSecretTest, ConcurrentFirstCallsAgreeOnOneSecret) {
  std::vector<std::string> secrets(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    threads.emplace_back([&, i] { secrets[i] = LoadOrCreateDevSecret(dir_); });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(std::set<std::string>(secrets.begin(), secrets.end()).size(), 1u);
  EXPECT_EQ(ReadFile(dir_ / "dev-secret"), secrets[0] + "\n");
}

}  // namespace
}  // namespace herald::auth
