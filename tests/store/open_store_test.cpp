#include "store/open_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "store/store_test_support.h"

namespace herald::store {
namespace {

using testing::AppendMany;
using ::testing::HasSubstr;
using testing::TempDir;

std::string OpenError(const std::string& url) {
  try {
    OpenStore({.url = url});
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "(opened)";
}

TEST(OpenStoreTest, OpensMemory) {
  auto store = OpenStore({.url = "memory:"});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(AppendMany(*store, "u", 2).size(), 2u);
}

TEST(OpenStoreTest, CreatesSqliteFileWithEitherDurability) {
  TempDir dir;
  for (Durability durability : {Durability::kNormal, Durability::kFull}) {
    const std::string path = dir.File(durability == Durability::kFull ? "full.db" : "normal.db");
    auto store = OpenStore({.url = "sqlite:" + path, .durability = durability});
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(std::filesystem::exists(path));
    EXPECT_EQ(AppendMany(*store, "u", 3).size(), 3u);
  }
}

TEST(OpenStoreTest, RejectsWhatItCannotOpen) {
  // Nothing listens on port 1: refused at once, and the password is not repeated.
  for (const char* url :
       {"postgres://user:secret@127.0.0.1:1/herald", "postgresql://user:secret@127.0.0.1:1/h"}) {
    const std::string refused = OpenError(url);
    EXPECT_THAT(refused, HasSubstr("cannot open PostgreSQL store"));
    EXPECT_THAT(refused, ::testing::Not(HasSubstr("secret")));
    EXPECT_EQ(refused.find('\n'), std::string::npos);
  }
  const std::string unknown = OpenError("redis://user:secret@host");
  EXPECT_THAT(unknown, HasSubstr("'redis'"));
  EXPECT_THAT(unknown, ::testing::Not(HasSubstr("secret")));
  EXPECT_THAT(OpenError(""), HasSubstr("unsupported"));
  EXPECT_THAT(OpenError("sqlite:"), HasSubstr("path"));
  TempDir dir;
  const std::string missing = OpenError("sqlite:" + dir.File("no/such/dir/events.db"));
  EXPECT_THAT(missing, HasSubstr("cannot open SQLite store"));
  EXPECT_EQ(missing.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace herald::store
