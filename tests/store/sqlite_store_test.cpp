// SQLite-only behaviour: persistence across reopen, schema, failures, concurrent reads.
#include "store/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "store/sqlite_db.h"
#include "store/sqlite_schema.h"
#include "store/store_test_support.h"

namespace herald::store {
namespace {

using testing::AppendMany;
using testing::Draft;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Key;
using testing::kT0;
using testing::RangePair;
using testing::Sequences;
using testing::TempDir;
using namespace std::chrono_literals;

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> Open(std::chrono::milliseconds busy_timeout = 5000ms) {
    return std::make_unique<SqliteStore>(
        SqliteStoreOptions{.path = path_, .busy_timeout = busy_timeout});
  }

  // A separate connection, as another process would have.
  std::unique_ptr<sqlite::Connection> Raw() {
    return std::make_unique<sqlite::Connection>(path_, SQLITE_OPEN_READWRITE);
  }

  static std::int64_t QueryInt(sqlite::Connection& db, const char* sql) {
    sqlite::Statement statement = db.Prepare(sql);
    EXPECT_EQ(statement.Step(), SQLITE_ROW) << db.Error(sql);
    return statement.ColumnInt64(0);
  }

  static RangePair RangeOf(EventStore& store, const std::string& user) {
    auto range = store.Range(UserId(user));
    EXPECT_TRUE(range.has_value()) << range.error().message;
    return range.has_value() ? RangePair(range->first, range->last) : RangePair(0, 0);
  }

  TempDir dir_;
  std::string path_ = dir_.File("events.db");
};

TEST_F(SqliteStoreTest, ReopenKeepsHistoryAndContinuesSequences) {
  std::uint32_t history = 0;
  {
    auto store = Open();
    history = store->History();
    EXPECT_THAT(AppendMany(*store, "u", 3), ElementsAre(1, 2, 3));
  }
  auto store = Open();
  EXPECT_EQ(store->History(), history);
  EXPECT_EQ(RangeOf(*store, "u"), RangePair(1, 3));
  EXPECT_THAT(AppendMany(*store, "u", 2), ElementsAre(4, 5));
  auto page = store->ReadAfter(UserId("u"), 0, {}, 10);
  ASSERT_TRUE(page.has_value());
  EXPECT_THAT(Sequences(page->events), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(page->events[0].id.history, history);
}

TEST_F(SqliteStoreTest, SequencesContinueAfterEverythingIsPrunedAndReopened) {
  {
    auto store = Open();
    AppendMany(*store, "u", 3);
    auto deleted = store->Prune({.max_events_per_user = 10, .max_age = 1s}, kT0 + 1h, 100);
    ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
    EXPECT_EQ(*deleted, 3u);
  }
  auto store = Open();
  EXPECT_EQ(RangeOf(*store, "u"), RangePair(4, 3));
  EXPECT_THAT(AppendMany(*store, "u", 1), ElementsAre(4));
}

// Pruning by age one row a pass: the user's row keeps their last sequence only once the pass
// that deletes their newest event runs, and sequences continue from it after a reopen at
// every step.
TEST_F(SqliteStoreTest, AgePruningOneRowAPassKeepsTheLastSequenceAtEveryStep) {
  { AppendMany(*Open(), "u", 3); }
  for (std::uint64_t pass = 1; pass <= 3; ++pass) {
    auto store = Open();
    auto deleted = store->Prune({.max_events_per_user = 10, .max_age = 1s}, kT0 + 1h, 1);
    ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
    EXPECT_EQ(*deleted, 1u);
    EXPECT_EQ(RangeOf(*store, "u"), RangePair(pass + 1, 3));
  }
  auto store = Open();
  EXPECT_EQ(QueryInt(*Raw(), "SELECT last_seq FROM users WHERE user_id = 'u'"), 3);
  EXPECT_THAT(AppendMany(*store, "u", 1), ElementsAre(4));
}

// An append writes no row of `users` once the user has one (issue 15: fewer pages a commit):
// the row keeps the floor of the user's first group, and the last sequence comes from `events`.
TEST_F(SqliteStoreTest, AppendsAfterAUsersFirstLeaveTheirUsersRowAlone) {
  {
    auto store = Open();
    AppendMany(*store, "u", 2);
    AppendMany(*store, "u", 3);
    EXPECT_EQ(QueryInt(*Raw(), "SELECT last_seq FROM users WHERE user_id = 'u'"), 2);
    EXPECT_EQ(RangeOf(*store, "u"), RangePair(1, 5));
  }
  auto store = Open();
  EXPECT_EQ(RangeOf(*store, "u"), RangePair(1, 5));
  EXPECT_THAT(AppendMany(*store, "u", 1), ElementsAre(6));
}

// A version-4 file, whose users.last_seq was exact: its sequences continue, for a user with
// events and for one whose events were all pruned.
TEST_F(SqliteStoreTest, AVersion4FileContinuesItsSequences) {
  {
    sqlite::Connection db(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite::Migrate(db, 4);
    ASSERT_EQ(db.Exec("INSERT INTO users VALUES ('kept', 2), ('pruned', 7);"
                      "INSERT INTO events (user_id, seq, protocol, type, context_id, stored_at_ms, "
                      "payload) VALUES ('kept', 1, 0, 'CUSTOM', NULL, 0, '{}'), "
                      "('kept', 2, 0, 'CUSTOM', NULL, 0, '{}')"),
              SQLITE_OK)
        << db.Error("insert");
  }
  auto store = Open();
  EXPECT_EQ(QueryInt(*Raw(), "PRAGMA user_version"), sqlite::SchemaVersion());
  EXPECT_EQ(RangeOf(*store, "kept"), RangePair(1, 2));
  EXPECT_EQ(RangeOf(*store, "pruned"), RangePair(8, 7));
  EXPECT_THAT(AppendMany(*store, "kept", 1), ElementsAre(3));
  EXPECT_THAT(AppendMany(*store, "pruned", 1), ElementsAre(8));
}

TEST_F(SqliteStoreTest, PruneByCountFindsUsersWrittenBeforeReopen) {
  {
    auto store = Open();
    AppendMany(*store, "a", 10);
    AppendMany(*store, "b", 2);
  }
  auto store = Open();
  auto deleted = store->Prune({.max_events_per_user = 3, .max_age = 24h}, kT0, 100);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(*deleted, 7u);
  EXPECT_EQ(RangeOf(*store, "a"), RangePair(8, 10));
  // A lower limit later finds the excess again.
  deleted = store->Prune({.max_events_per_user = 1, .max_age = 24h}, kT0, 100);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(*deleted, 3u);
  EXPECT_EQ(RangeOf(*store, "a"), RangePair(10, 10));
  EXPECT_EQ(RangeOf(*store, "b"), RangePair(2, 2));
}

TEST_F(SqliteStoreTest, FreshFilesHaveDifferentHistories) {
  auto first = Open();
  SqliteStore second(SqliteStoreOptions{.path = dir_.File("other.db")});
  EXPECT_NE(first->History(), 0u);
  EXPECT_NE(first->History(), second.History());
}

TEST_F(SqliteStoreTest, MigratesAnEmptyFile) {
  std::ofstream(path_).close();
  ASSERT_EQ(std::filesystem::file_size(path_), 0u);
  auto store = Open();
  auto raw = Raw();
  EXPECT_EQ(QueryInt(*raw, "PRAGMA user_version"), sqlite::SchemaVersion());
  EXPECT_GE(sqlite::SchemaVersion(), 1);
  EXPECT_EQ(QueryInt(*raw, "SELECT value FROM meta WHERE key = 'history'"), store->History());
  sqlite::Statement mode = raw->Prepare("PRAGMA journal_mode");
  ASSERT_EQ(mode.Step(), SQLITE_ROW);
  EXPECT_EQ(mode.ColumnText(0), "wal");
}

// A file of schema version 3, from before context ids were per user: its contexts keep their
// owners, statistics and task ids.
TEST_F(SqliteStoreTest, ContextsOfAVersion3FileKeepTheirOwnersAndTasks) {
  {
    sqlite::Connection db(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite::Migrate(db, 3);
    ASSERT_EQ(db.Exec("INSERT INTO contexts VALUES ('c1', 'alice', 'Trip', 'conversation', 1000, "
                      "2000, 1, 4, 1500); INSERT INTO context_tasks VALUES ('c1', 't1')"),
              SQLITE_OK)
        << db.Error("insert");
  }
  auto store = Open();
  EXPECT_EQ(QueryInt(*Raw(), "PRAGMA user_version"), sqlite::SchemaVersion());
  const auto found = store->FindContext(Key("c1", "alice"));
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "Trip");
  EXPECT_EQ((*found)->last_message_at_ms, 1500);
  EXPECT_TRUE(*store->TaskSeen(Key("c1", "alice"), "t1"));
  EXPECT_FALSE(store->FindContext(Key("c1", "bob"))->has_value());
  EXPECT_EQ(store->ReadContexts(UserId("alice"), {})->contexts.size(), 1u);
}

TEST_F(SqliteStoreTest, RefusesASchemaNewerThanTheBuild) {
  {
    sqlite::Connection db(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_EQ(db.Exec("PRAGMA user_version = 999"), SQLITE_OK);
  }
  try {
    Open();
    FAIL() << "opened a newer schema";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("newer"));
  }
}

TEST_F(SqliteStoreTest, RefusesAFileThatIsNotADatabase) {
  std::ofstream(path_) << "this is not an SQLite database, just some text long enough\n";
  EXPECT_THROW(Open(), std::runtime_error);
}

TEST_F(SqliteStoreTest, FailedAppendCommitsNothingAndConsumesNoSequence) {
  auto store = Open();
  EXPECT_THAT(AppendMany(*store, "a", 1), ElementsAre(1));
  auto raw = Raw();
  ASSERT_EQ(raw->Exec("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.type = 'POISON' "
                      "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"),
            SQLITE_OK)
      << raw->Error("create trigger");

  // The third insert fails after two have gone in: the whole group rolls back.
  auto failed = store->Append(
      std::vector{Draft("a"), Draft("b"), Draft("a", Protocol::kAgui, {}, "POISON")}, kT0);
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message, HasSubstr("poisoned"));
  EXPECT_EQ(RangeOf(*store, "a"), RangePair(1, 1));
  EXPECT_EQ(RangeOf(*store, "b"), RangePair(1, 0));

  ASSERT_EQ(raw->Exec("DROP TRIGGER poison"), SQLITE_OK);
  auto stored = store->Append(std::vector{Draft("a"), Draft("b")}, kT0);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  EXPECT_THAT(Sequences(*stored), ElementsAre(2, 1));
  auto page = store->ReadAfter(UserId("a"), 0, {}, 10);
  ASSERT_TRUE(page.has_value());
  EXPECT_THAT(Sequences(page->events), ElementsAre(1, 2));
}

TEST_F(SqliteStoreTest, ContextsAndTheirTaskIdsSurviveReopen) {
  ContextRecord c1;
  c1.id = ContextId("c1");
  c1.owner = UserId("alice");
  c1.name = "Trip";
  c1.kind = "conversation";
  c1.created_at_ms = 1'000;
  c1.updated_at_ms = 2'000;
  c1.task_count = 1;
  c1.message_count = 4;
  c1.last_message_at_ms = 1'500;
  {
    auto store = Open();
    ASSERT_TRUE(store
                    ->Append(std::vector{Draft("alice", Protocol::kSystem, "c1")}, {},
                             std::vector{ContextWrite{c1.key(), c1, false, {"t1"}}}, kT0)
                    .has_value());
  }
  auto store = Open();
  auto view = store->ReadContexts(UserId("alice"), {});
  ASSERT_TRUE(view.has_value()) << view.error().message;
  ASSERT_EQ(view->contexts.size(), 1u);
  EXPECT_EQ(view->contexts[0], c1);
  EXPECT_EQ(view->range.last, 1u);
  EXPECT_TRUE(*store->TaskSeen(Key("c1"), "t1"));
}

TEST_F(SqliteStoreTest, FailedAppendWritesNoContext) {
  auto store = Open();
  auto raw = Raw();
  ASSERT_EQ(raw->Exec("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.type = 'POISON' "
                      "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"),
            SQLITE_OK)
      << raw->Error("create trigger");
  ContextRecord c1;
  c1.id = ContextId("c1");
  c1.owner = UserId("alice");
  auto failed = store->Append(std::vector{Draft("alice", Protocol::kAgui, {}, "POISON")}, {},
                              std::vector{ContextWrite{c1.key(), c1, false, {"t1"}}}, kT0);
  ASSERT_FALSE(failed.has_value());
  EXPECT_FALSE(store->FindContext(Key("c1"))->has_value());
  EXPECT_FALSE(*store->TaskSeen(Key("c1"), "t1"));
}

TEST_F(SqliteStoreTest, LockedDatabaseFailsCleanlyAndReadsDoNotWait) {
  auto store = Open(0ms);
  AppendMany(*store, "u", 2);
  auto raw = Raw();
  ASSERT_EQ(raw->Exec("BEGIN IMMEDIATE; INSERT INTO users VALUES ('x', 1)"), SQLITE_OK);

  auto failed = store->Append(std::vector{Draft("u")}, kT0);
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message, HasSubstr("locked"));
  EXPECT_FALSE(store->Prune({.max_events_per_user = 1, .max_age = 24h}, kT0, 10).has_value());
  // Readers see the last commit, without waiting for the open write transaction.
  auto page = store->ReadAfter(UserId("u"), 0, {}, 10);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  EXPECT_THAT(Sequences(page->events), ElementsAre(1, 2));
  EXPECT_EQ(RangeOf(*store, "x"), RangePair(1, 0));

  ASSERT_EQ(raw->Exec("ROLLBACK"), SQLITE_OK);
  EXPECT_THAT(AppendMany(*store, "u", 1), ElementsAre(3));
  auto deleted = store->Prune({.max_events_per_user = 1, .max_age = 24h}, kT0, 10);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(*deleted, 2u);
}

// A commit in place runs on an I/O thread, which must never wait for another process's lock
// (hub/publisher.h); the writer thread's BeginGroup still waits up to the busy timeout.
TEST_F(SqliteStoreTest,
       TryBeginGroupGivesUpAtOnceOnAForeignWriteLockWhileBeginGroupWaitsItsTimeout) {
  constexpr auto kBusyTimeout = 2000ms;
  auto store = Open(kBusyTimeout);
  AppendMany(*store, "u", 2);
  auto raw = Raw();
  ASSERT_EQ(raw->Exec("BEGIN IMMEDIATE; INSERT INTO users VALUES ('x', 1)"), SQLITE_OK);

  auto started = std::chrono::steady_clock::now();
  auto tried = store->TryBeginGroup();
  const auto tried_for = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(tried.has_value()) << tried.error().message;
  EXPECT_EQ(*tried, nullptr) << "no group while another connection holds the lock";
  EXPECT_LT(tried_for, kBusyTimeout / 2);

  started = std::chrono::steady_clock::now();
  auto waited = store->BeginGroup();
  const auto waited_for = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(waited.has_value());
  EXPECT_THAT(waited.error().message, HasSubstr("locked"));
  EXPECT_GE(waited_for, kBusyTimeout * 9 / 10) << "the busy timeout is back after TryBeginGroup";

  ASSERT_EQ(raw->Exec("ROLLBACK"), SQLITE_OK);
  auto opened = store->TryBeginGroup();
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  ASSERT_NE(*opened, nullptr);
  auto stored = (*opened)->Commit(std::vector{Draft("u")}, {}, {}, kT0);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  auto page = store->ReadAfter(UserId("u"), 0, {}, 10);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  EXPECT_THAT(Sequences(page->events), ElementsAre(1, 2, 3));
  EXPECT_EQ(RangeOf(*store, "x"), RangePair(1, 0)) << "the foreign transaction left nothing";
}

TEST_F(SqliteStoreTest, ConcurrentReadsWhileAppendingSeeOrderedPrefixes) {
  constexpr int kBatches = 200;
  constexpr int kBatchSize = 5;
  constexpr std::uint64_t kTotal = std::uint64_t{kBatches} * kBatchSize;
  auto store = Open();
  std::atomic<bool> done{false};

  auto reader = [&](std::size_t page_size, Stream stream) {
    std::uint64_t seen_before = 0;
    // Runs while the writer does (a bounded loop), then once more after its last commit.
    for (bool last_round = false; !last_round;) {
      last_round = done.load(std::memory_order_acquire);
      // Page through everything visible now: each page is ordered and gap-free.
      std::uint64_t after = 0;
      for (bool more = true; more;) {
        auto page = store->ReadAfter(UserId("u"), after, {stream, {}}, page_size);
        ASSERT_TRUE(page.has_value()) << page.error().message;
        for (const StoredEvent& event : page->events) {
          ASSERT_EQ(event.id.sequence, after + 1);
          after = event.id.sequence;
        }
        more = page->more;
      }
      ASSERT_GE(after, seen_before);      // never goes back
      ASSERT_EQ(after % kBatchSize, 0u);  // whole groups only
      seen_before = after;
    }
    EXPECT_EQ(seen_before, kTotal);
  };

  std::thread first(reader, 1000, Stream::kContexts);
  std::thread second(reader, 7, Stream::kAgui);
  for (int batch = 0; batch < kBatches; ++batch) {
    std::vector<EventDraft> drafts;
    drafts.reserve(kBatchSize);
    for (int i = 0; i < kBatchSize; ++i) drafts.push_back(Draft("u"));
    auto stored = store->Append(drafts, kT0);
    const bool ok = stored.has_value() && stored->back().id.sequence ==
                                              static_cast<std::uint64_t>(batch + 1) * kBatchSize;
    EXPECT_TRUE(ok) << stored.error().message;
    if (!ok) break;  // the readers still stop: `done` is set below
  }
  done.store(true, std::memory_order_release);
  first.join();
  second.join();
  EXPECT_EQ(RangeOf(*store, "u"), RangePair(1, kTotal));
}

TEST_F(SqliteStoreTest, ReleaseMemoryFreesThePageCachesLargeReadsFilled) {
  auto store = Open();
  AppendMany(*store, "u", 1);
  ASSERT_TRUE(store->ReadAfter(UserId("u"), 0, {}, 10).has_value());
  store->ReleaseMemory();
  const std::int64_t warm = sqlite3_memory_used();

  // About 8 MB of events, read whole by four threads at once: each connection's page cache
  // fills to its 2 MB default, and the reader pool grows while reads overlap.
  const std::string padding(1000, 'x');
  for (int group = 0; group < 8; ++group) {
    std::vector<EventDraft> drafts;
    for (int i = 0; i < 1000; ++i) {
      drafts.push_back(Draft("big"));
      drafts.back().json = fmt::format(R"({{"type":"CUSTOM","n":{},"pad":"{}"}})", i, padding);
    }
    ASSERT_TRUE(store->Append(drafts, kT0).has_value());
  }
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&store] {
      auto page = store->ReadAfter(UserId("big"), 0, {}, 10'000);
      EXPECT_TRUE(page.has_value() && page->events.size() == 8000);
    });
  }
  for (std::thread& reader : readers) reader.join();
  const std::int64_t filled = sqlite3_memory_used();
  EXPECT_GT(filled, warm + 4'000'000);

  store->ReleaseMemory();
  EXPECT_LT(sqlite3_memory_used(), warm + 256 * 1024) << "warm " << warm << ", filled " << filled;
  // The store reads and writes as before.
  EXPECT_THAT(AppendMany(*store, "u", 1), ElementsAre(2));
  auto page = store->ReadAfter(UserId("big"), 7999, {}, 10);
  ASSERT_TRUE(page.has_value());
  EXPECT_THAT(Sequences(page->events), ElementsAre(8000));
}

// Appends `events` single-event groups of about 1 KB each: every commit adds WAL pages.
void AppendSingles(SqliteStore& store, int events) {
  const std::string padding(1000, 'x');
  for (int i = 0; i < events; ++i) {
    std::vector<EventDraft> drafts{Draft("u" + std::to_string(i % 7))};
    drafts.back().json = fmt::format(R"({{"type":"CUSTOM","n":{},"pad":"{}"}})", i, padding);
    ASSERT_TRUE(store.Append(drafts, kT0).has_value());
  }
}

TEST_F(SqliteStoreTest, CheckpointsRunOnTheCheckpointerThreadNotInTheWritersCommits) {
  auto store = std::make_unique<SqliteStore>(SqliteStoreOptions{
      .path = path_, .checkpoint_frames = 50, .writer_checkpoint_frames = 1'000'000});
  const auto file_before = std::filesystem::file_size(path_);
  AppendSingles(*store, 200);  // well over 50 WAL pages
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (store->Checkpoints().background == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);  // polling a condition, bounded by the deadline
  }
  const CheckpointCounts counts = store->Checkpoints();
  EXPECT_GE(counts.background, 1U);
  EXPECT_EQ(counts.on_writer, 0U);  // SQLite's autocheckpoint is off on the writer
  EXPECT_EQ(counts.failed, 0U);
  // The checkpoint copied the WAL's pages into the database file.
  EXPECT_GT(std::filesystem::file_size(path_), file_before);
  EXPECT_EQ(RangeOf(*store, "u0"), RangePair(1, 29));
}

TEST_F(SqliteStoreTest, WriterCheckpointsItselfWhenTheWalPassesItsBound) {
  // No background checkpoint is ever asked for: the writer's own keep the WAL bounded.
  auto store = std::make_unique<SqliteStore>(SqliteStoreOptions{
      .path = path_, .checkpoint_frames = 1'000'000'000, .writer_checkpoint_frames = 40});
  AppendSingles(*store, 400);  // some 1 000 WAL pages without checkpoints
  const CheckpointCounts counts = store->Checkpoints();
  EXPECT_GE(counts.on_writer, 1U);
  EXPECT_EQ(counts.background, 0U);
  EXPECT_EQ(counts.failed, 0U);
  // Each checkpoint copied everything, so the next commit restarted the WAL from its start: the
  // file never grew much past the bound (40 pages plus one commit's, 4 KiB each).
  EXPECT_LT(std::filesystem::file_size(path_ + "-wal"), 64U * 4096U);
  EXPECT_EQ(RangeOf(*store, "u6"), RangePair(1, 57));
}

}  // namespace
}  // namespace herald::store
