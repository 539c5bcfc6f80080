// The EventStore contract, run against every implementation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "store/memory_store.h"
#include "store/pg_schema.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"
#include "store/store_test_support.h"
#include "support/pg_server.h"

namespace herald::store {
namespace {

using testing::AppendMany;
using testing::Context;
using testing::Delete;
using testing::Draft;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::Key;
using testing::kT0;
using testing::RangePair;
using testing::Sequences;
using testing::TempDir;
using testing::Upsert;
using namespace std::chrono_literals;

struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<EventStore>(const TempDir&)> make;
};

class EventStoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override { store_ = GetParam().make(dir_); }

  std::vector<std::uint64_t> Read(const std::string& user, std::uint64_t after,
                                  const ReplayFilter& filter = {}, std::size_t limit = 1000) {
    auto page = store_->ReadAfter(UserId(user), after, filter, limit);
    EXPECT_TRUE(page.has_value()) << page.error().message;
    return page.has_value() ? Sequences(page->events) : std::vector<std::uint64_t>{};
  }

  RangePair RangeOf(const std::string& user) {
    auto range = store_->Range(UserId(user));
    EXPECT_TRUE(range.has_value()) << range.error().message;
    return range.has_value() ? RangePair(range->first, range->last) : RangePair(0, 0);
  }

  std::size_t Prune(RetentionPolicy policy, std::chrono::system_clock::time_point now,
                    std::size_t max_rows = 1000) {
    auto deleted = store_->Prune(policy, now, max_rows);
    EXPECT_TRUE(deleted.has_value()) << deleted.error().message;
    return deleted ? *deleted : 0;
  }

  TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

TEST(StoreFailureTest, IsServiceUnavailableAndToldApartFromARefusal) {
  const Error failure = StoreFailure("sqlite: disk I/O error");
  EXPECT_EQ(failure.code, ErrorCode::kServiceUnavailable);
  EXPECT_EQ(failure.message, "sqlite: disk I/O error");
  EXPECT_TRUE(IsStoreFailure(failure));
  EXPECT_FALSE(IsStoreFailure(Error{ErrorCode::kServiceUnavailable, "The hub is busy."}));
  EXPECT_FALSE(IsStoreFailure(Error{ErrorCode::kNotFound, "Context not found."}));
}

TEST_P(EventStoreTest, SequencesStartAtOneAndIncreasePerUser) {
  EXPECT_THAT(AppendMany(*store_, "alice", 3), ElementsAre(1, 2, 3));
  EXPECT_THAT(AppendMany(*store_, "alice", 2), ElementsAre(4, 5));
  EXPECT_THAT(AppendMany(*store_, "bob", 2), ElementsAre(1, 2));
  EXPECT_THAT(AppendMany(*store_, "alice", 1), ElementsAre(6));
}

TEST_P(EventStoreTest, EmptyAppendStoresNothing) {
  auto stored = store_->Append({}, kT0);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  EXPECT_THAT(*stored, IsEmpty());
  EXPECT_EQ(RangeOf("alice"), RangePair(1, 0));
}

TEST_P(EventStoreTest, MixedSpanKeepsInputOrderAndPerUserSequences) {
  const std::vector<EventDraft> drafts = {Draft("a", Protocol::kAgui, "c1", "RUN_STARTED"),
                                          Draft("b", Protocol::kA2a), Draft("a", Protocol::kSystem),
                                          Draft("c"), Draft("b", Protocol::kAgui, "c2")};
  auto stored = store_->Append(drafts, kT0);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  ASSERT_EQ(stored->size(), drafts.size());
  EXPECT_THAT(Sequences(*stored), ElementsAre(1, 1, 2, 1, 2));
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    const StoredEvent& event = (*stored)[i];
    EXPECT_EQ(event.user, drafts[i].user);
    EXPECT_EQ(event.protocol, drafts[i].protocol);
    EXPECT_EQ(event.context, drafts[i].context);
    EXPECT_EQ(event.type, drafts[i].type);
    EXPECT_EQ(event.json, drafts[i].json);
    EXPECT_EQ(event.id.history, store_->History());
    EXPECT_EQ(event.stored_at_ms, 1'700'000'000'000);
  }
  // Each user reads back their own events, in input order.
  for (const std::string user : {"a", "b", "c"}) {
    std::vector<std::string> expected;
    for (const EventDraft& draft : drafts) {
      if (draft.user.str() == user) expected.push_back(draft.json);
    }
    auto page = store_->ReadAfter(UserId(user), 0, {}, 10);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    std::vector<std::string> got;
    for (const StoredEvent& event : page->events) got.push_back(event.json);
    EXPECT_EQ(got, expected) << user;
  }
  // What comes back from a read is what was stored.
  auto page = store_->ReadAfter(UserId("a"), 0, {}, 10);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  ASSERT_EQ(page->events.size(), 2u);
  const StoredEvent& first = page->events[0];
  EXPECT_EQ(first.id, (EventId{store_->History(), 1}));
  EXPECT_EQ(first.context, ContextId("c1"));
  EXPECT_EQ(first.type, "RUN_STARTED");
  EXPECT_EQ(first.json, drafts[0].json);
  EXPECT_EQ(first.stored_at_ms, 1'700'000'000'000);
  EXPECT_EQ(page->events[1].protocol, Protocol::kSystem);
  EXPECT_FALSE(page->events[1].context.has_value());
}

TEST_P(EventStoreTest, ReadAfterHonoursStreamAndContext) {
  const std::vector<EventDraft> drafts = {
      Draft("u", Protocol::kAgui, "c1"),   Draft("u", Protocol::kA2a, "c1"),
      Draft("u", Protocol::kSystem, "c2"), Draft("u", Protocol::kAgui),
      Draft("u", Protocol::kA2a, "c2"),    Draft("other", Protocol::kAgui, "c1")};
  ASSERT_TRUE(store_->Append(drafts, kT0).has_value());
  EXPECT_THAT(Read("u", 0, {Stream::kAgui, {}}), ElementsAre(1, 4));
  EXPECT_THAT(Read("u", 0, {Stream::kA2a, {}}), ElementsAre(2, 5));
  EXPECT_THAT(Read("u", 0, {Stream::kContexts, {}}), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(Read("u", 0, {Stream::kContexts, ContextId("c1")}), ElementsAre(1, 2));
  EXPECT_THAT(Read("u", 0, {Stream::kContexts, ContextId("c2")}), ElementsAre(3, 5));
  EXPECT_THAT(Read("u", 0, {Stream::kAgui, ContextId("c1")}), ElementsAre(1));
  EXPECT_THAT(Read("u", 0, {Stream::kA2a, ContextId("nope")}), IsEmpty());
  EXPECT_THAT(Read("u", 2, {}), ElementsAre(3, 4, 5));
  EXPECT_THAT(Read("u", 5, {}), IsEmpty());
  EXPECT_THAT(Read("nobody", 0, {}), IsEmpty());
}

TEST_P(EventStoreTest, LimitPagesWithMore) {
  AppendMany(*store_, "u", 10);
  std::vector<std::uint64_t> seen;
  std::uint64_t after = 0;
  int pages = 0;
  for (bool more = true; more && pages < 10; ++pages) {
    auto page = store_->ReadAfter(UserId("u"), after, {}, 3);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    ASSERT_FALSE(page->events.empty());
    for (const StoredEvent& event : page->events) seen.push_back(event.id.sequence);
    after = page->events.back().id.sequence;
    more = page->more;
  }
  EXPECT_EQ(pages, 4);
  EXPECT_THAT(seen, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));

  auto exact = store_->ReadAfter(UserId("u"), 5, {}, 5);
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->events.size(), 5u);
  EXPECT_FALSE(exact->more);

  auto none = store_->ReadAfter(UserId("u"), 0, {}, 0);
  ASSERT_TRUE(none.has_value());
  EXPECT_THAT(none->events, IsEmpty());
  EXPECT_TRUE(none->more);
}

TEST_P(EventStoreTest, MoreCountsOnlyEventsTheFilterSelects) {
  ASSERT_TRUE(store_
                  ->Append(std::vector{Draft("u", Protocol::kAgui), Draft("u", Protocol::kA2a),
                                       Draft("u", Protocol::kAgui), Draft("u", Protocol::kA2a)},
                           kT0)
                  .has_value());
  auto page = store_->ReadAfter(UserId("u"), 0, {Stream::kAgui, {}}, 2);
  ASSERT_TRUE(page.has_value());
  EXPECT_THAT(Sequences(page->events), ElementsAre(1, 3));
  EXPECT_FALSE(page->more);
}

TEST_P(EventStoreTest, RangeFollowsAppendsAndPruning) {
  EXPECT_EQ(RangeOf("u"), RangePair(1, 0));
  AppendMany(*store_, "u", 3);
  EXPECT_EQ(RangeOf("u"), RangePair(1, 3));
  EXPECT_EQ(Prune({.max_events_per_user = 1, .max_age = 24h}, kT0), 2u);
  EXPECT_EQ(RangeOf("u"), RangePair(3, 3));
  EXPECT_EQ(Prune({.max_events_per_user = 100, .max_age = 1h}, kT0 + 2h), 1u);
  EXPECT_EQ(RangeOf("u"), RangePair(4, 3));
  EXPECT_THAT(Read("u", 0), IsEmpty());
  EXPECT_THAT(AppendMany(*store_, "u", 1), ElementsAre(4));
  EXPECT_EQ(RangeOf("u"), RangePair(4, 4));
}

TEST_P(EventStoreTest, PruneByCountKeepsNewestPerUser) {
  AppendMany(*store_, "a", 5);
  AppendMany(*store_, "b", 2);
  const RetentionPolicy policy{.max_events_per_user = 3, .max_age = 24h};
  EXPECT_EQ(Prune(policy, kT0), 2u);
  EXPECT_EQ(RangeOf("a"), RangePair(3, 5));
  EXPECT_EQ(RangeOf("b"), RangePair(1, 2));
  EXPECT_THAT(Read("a", 0), ElementsAre(3, 4, 5));
  EXPECT_EQ(Prune(policy, kT0), 0u);
  AppendMany(*store_, "b", 2);
  EXPECT_EQ(Prune(policy, kT0), 1u);
  EXPECT_EQ(RangeOf("b"), RangePair(2, 4));
}

TEST_P(EventStoreTest, PruneDeletesAtMostMaxRowsPerCall) {
  AppendMany(*store_, "a", 6);
  AppendMany(*store_, "b", 6);
  const RetentionPolicy policy{.max_events_per_user = 2, .max_age = 24h};
  std::size_t total = 0;
  int calls = 0;
  for (std::size_t deleted = 1; deleted > 0 && calls < 10; ++calls) {
    deleted = Prune(policy, kT0, 3);
    EXPECT_LE(deleted, 3u);
    total += deleted;
  }
  EXPECT_EQ(total, 8u);
  EXPECT_EQ(calls, 4);  // 3 + 3 + 2, then 0
  EXPECT_EQ(RangeOf("a"), RangePair(5, 6));
  EXPECT_EQ(RangeOf("b"), RangePair(5, 6));
}

TEST_P(EventStoreTest, UnboundedLimitsAreSafe) {
  AppendMany(*store_, "u", 4);
  constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(Prune({.max_events_per_user = 1, .max_age = 24h}, kT0, kUnbounded), 3u);
  EXPECT_THAT(Read("u", 0, {}, kUnbounded), ElementsAre(4));
  EXPECT_THAT(Read("u", std::numeric_limits<std::uint64_t>::max(), {}, kUnbounded), IsEmpty());
}

TEST_P(EventStoreTest, PruneByAgeUsesInjectedNow) {
  AppendMany(*store_, "a", 3, kT0);
  AppendMany(*store_, "b", 1, kT0 + 1s);
  AppendMany(*store_, "a", 2, kT0 + 10s);
  const RetentionPolicy policy{.max_events_per_user = 100, .max_age = 60s};
  EXPECT_EQ(Prune(policy, kT0 + 60s), 0u);  // exactly max_age old: kept
  EXPECT_EQ(Prune(policy, kT0 + 60s + 1ms), 3u);
  EXPECT_EQ(RangeOf("a"), RangePair(4, 5));
  EXPECT_EQ(RangeOf("b"), RangePair(1, 1));
  EXPECT_EQ(Prune(policy, kT0 + 61s + 1ms), 1u);
  EXPECT_EQ(RangeOf("b"), RangePair(2, 1));
  EXPECT_EQ(Prune(policy, kT0 + 1h), 2u);
  EXPECT_EQ(RangeOf("a"), RangePair(6, 5));
  EXPECT_THAT(AppendMany(*store_, "a", 1, kT0 + 1h), ElementsAre(6));
}

TEST_P(EventStoreTest, HistoryIsStable) {
  const std::uint32_t history = store_->History();
  AppendMany(*store_, "u", 2);
  Prune({.max_events_per_user = 1, .max_age = 1s}, kT0 + 1h);
  EXPECT_EQ(store_->History(), history);
  auto stored = store_->Append(std::vector{Draft("u")}, kT0);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ((*stored)[0].id.history, history);
}

// ---- Contexts
// ------------------------------------------------------------------------------------

std::vector<std::string> Ids(const std::vector<ContextRecord>& contexts) {
  std::vector<std::string> ids;
  for (const ContextRecord& c : contexts) ids.push_back(c.id.str());
  return ids;
}

ContextQuery Only(ContextId id) {
  ContextQuery query;
  query.only = std::move(id);
  return query;
}

ContextQuery Page(std::size_t limit, std::optional<ContextPosition> after = std::nullopt) {
  ContextQuery query;
  query.limit = limit;
  query.after = std::move(after);
  return query;
}

TEST_P(EventStoreTest, ContextWritesCommitWithTheirEventsAndReadBackWhole) {
  const ContextRecord c1 = Context("c1", "alice", 5'000, 2, 3);
  const std::vector<ContextWrite> writes = {Upsert(c1, {"t1", "t2"})};
  auto stored =
      store_->Append(std::vector{Draft("alice", Protocol::kSystem, "c1")}, {}, writes, kT0);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;

  auto found = store_->FindContext(Key("c1"));
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, c1);
  EXPECT_TRUE(*store_->TaskSeen(Key("c1"), "t1"));
  EXPECT_TRUE(*store_->TaskSeen(Key("c1"), "t2"));
  EXPECT_FALSE(*store_->TaskSeen(Key("c1"), "t3"));
  EXPECT_FALSE(*store_->TaskSeen(Key("c2"), "t1"));
  EXPECT_FALSE(store_->FindContext(Key("c2"))->has_value());
}

TEST_P(EventStoreTest, ReadContextsListsOnlyTheOwnersNewestUpdateFirstWithTheirRange) {
  const std::vector<ContextWrite> writes = {
      Upsert(Context("old", "alice", 1'000)), Upsert(Context("new", "alice", 9'000)),
      Upsert(Context("b-tie", "alice", 5'000)), Upsert(Context("a-tie", "alice", 5'000)),
      Upsert(Context("bobs", "bob", 10'000))};
  auto stored =
      store_->Append(std::vector{Draft("alice"), Draft("alice"), Draft("bob")}, {}, writes, kT0);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;

  auto alice = store_->ReadContexts(UserId("alice"), {});
  ASSERT_TRUE(alice.has_value()) << alice.error().message;
  EXPECT_THAT(Ids(alice->contexts), ElementsAre("new", "a-tie", "b-tie", "old"));
  EXPECT_EQ(alice->range.last, 2u);
  EXPECT_EQ(alice->range.first, 1u);

  // One context: the owner's; another user's reads as absent.
  EXPECT_THAT(Ids(store_->ReadContexts(UserId("alice"), Only(ContextId("old")))->contexts),
              ElementsAre("old"));
  EXPECT_THAT(store_->ReadContexts(UserId("alice"), Only(ContextId("bobs")))->contexts, IsEmpty());
  EXPECT_THAT(store_->ReadContexts(UserId("carol"), {})->contexts, IsEmpty());
  EXPECT_EQ(store_->ReadContexts(UserId("carol"), {})->range.last, 0u);
}

TEST_P(EventStoreTest, ContextPagesFollowTheListOrderFromAPositionAndCountTheWhole) {
  const std::vector<ContextWrite> writes = {
      Upsert(Context("old", "alice", 1'000)), Upsert(Context("new", "alice", 9'000)),
      Upsert(Context("b-tie", "alice", 5'000)), Upsert(Context("a-tie", "alice", 5'000)),
      Upsert(Context("bobs", "bob", 10'000))};
  ASSERT_TRUE(
      store_->Append(std::vector{Draft("alice"), Draft("bob")}, {}, writes, kT0).has_value());

  auto first = store_->ReadContexts(UserId("alice"), Page(2));
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_THAT(Ids(first->contexts), ElementsAre("new", "a-tie"));
  EXPECT_EQ(first->total, 4u);
  EXPECT_EQ(first->range.last, 1u);
  // After "a-tie" (5 000): its tie "b-tie" (a larger id), then the older one.
  auto second =
      store_->ReadContexts(UserId("alice"), Page(2, ContextPosition{5'000, ContextId("a-tie")}));
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_THAT(Ids(second->contexts), ElementsAre("b-tie", "old"));
  EXPECT_EQ(second->total, 4u);
  EXPECT_THAT(
      Ids(store_->ReadContexts(UserId("alice"), Page(0, ContextPosition{1'000, ContextId("old")}))
              ->contexts),
      IsEmpty());
  // A position need not be a context that still exists.
  EXPECT_THAT(
      Ids(store_->ReadContexts(UserId("alice"), Page(0, ContextPosition{7'000, ContextId("gone")}))
              ->contexts),
      ElementsAre("a-tie", "b-tie", "old"));
  // `only` counts only itself; another user's id counts nothing.
  EXPECT_EQ(store_->ReadContexts(UserId("alice"), Only(ContextId("old")))->total, 1u);
  EXPECT_EQ(store_->ReadContexts(UserId("alice"), Only(ContextId("bobs")))->total, 0u);
}

TEST_P(EventStoreTest, AGroupCountsAUsersCommittedContexts) {
  ASSERT_TRUE(store_
                  ->Append(std::vector{Draft("alice")}, {},
                           std::vector{Upsert(Context("c1", "alice", 1'000)),
                                       Upsert(Context("c2", "alice", 1'000)),
                                       Upsert(Context("c1", "bob", 1'000))},
                           kT0)
                  .has_value());
  auto group = store_->BeginGroup();
  ASSERT_TRUE(group.has_value()) << group.error().message;
  EXPECT_EQ(*(*group)->CountContexts(UserId("alice")), 2u);
  EXPECT_EQ(*(*group)->CountContexts(UserId("bob")), 1u);
  EXPECT_EQ(*(*group)->CountContexts(UserId("carol")), 0u);
}

TEST_P(EventStoreTest, DeletingAContextDropsItsRowAndItsTaskIds) {
  ASSERT_TRUE(store_
                  ->Append(std::vector{Draft("alice")}, {},
                           std::vector{Upsert(Context("c1", "alice", 1'000, 1), {"t1"})}, kT0)
                  .has_value());
  ASSERT_TRUE(
      store_->Append(std::vector{Draft("alice")}, {}, std::vector{Delete("c1")}, kT0).has_value());
  EXPECT_FALSE(store_->FindContext(Key("c1"))->has_value());
  EXPECT_FALSE(*store_->TaskSeen(Key("c1"), "t1"));
  EXPECT_THAT(store_->ReadContexts(UserId("alice"), {})->contexts, IsEmpty());
}

TEST_P(EventStoreTest, ResetTasksForgetsTheOldTaskIdsOfARecreatedContext) {
  ASSERT_TRUE(store_
                  ->Append(std::vector{Draft("alice")}, {},
                           std::vector{Upsert(Context("c1", "alice", 1'000, 2), {"t1", "t2"})}, kT0)
                  .has_value());
  ASSERT_TRUE(store_
                  ->Append(std::vector{Draft("alice")}, {},
                           std::vector{Upsert(Context("c1", "alice", 2'000, 1), {"t3"}, true)}, kT0)
                  .has_value());
  EXPECT_FALSE(*store_->TaskSeen(Key("c1"), "t1"));
  EXPECT_FALSE(*store_->TaskSeen(Key("c1"), "t2"));
  EXPECT_TRUE(*store_->TaskSeen(Key("c1"), "t3"));
  EXPECT_EQ(store_->FindContext(Key("c1"))->value().task_count, 1u);
}

TEST_P(EventStoreTest, TwoUsersWithTheSameContextIdHaveTwoContexts) {
  ASSERT_TRUE(store_
                  ->Append(std::vector{Draft("alice"), Draft("bob")}, {},
                           std::vector{Upsert(Context("thread-42", "alice", 1'000, 1), {"t1"}),
                                       Upsert(Context("thread-42", "bob", 2'000, 0, 3))},
                           kT0)
                  .has_value());
  EXPECT_EQ(store_->FindContext(Key("thread-42", "alice"))->value().task_count, 1u);
  EXPECT_EQ(store_->FindContext(Key("thread-42", "bob"))->value().message_count, 3u);
  EXPECT_TRUE(*store_->TaskSeen(Key("thread-42", "alice"), "t1"));
  EXPECT_FALSE(*store_->TaskSeen(Key("thread-42", "bob"), "t1"));

  // Deleting one leaves the other whole.
  ASSERT_TRUE(
      store_->Append(std::vector{Draft("bob")}, {}, std::vector{Delete("thread-42", "bob")}, kT0)
          .has_value());
  EXPECT_FALSE(store_->FindContext(Key("thread-42", "bob"))->has_value());
  EXPECT_EQ(store_->FindContext(Key("thread-42", "alice"))->value(),
            Context("thread-42", "alice", 1'000, 1));
  EXPECT_TRUE(*store_->TaskSeen(Key("thread-42", "alice"), "t1"));
  EXPECT_THAT(Ids(store_->ReadContexts(UserId("alice"), Only(ContextId("thread-42")))->contexts),
              ElementsAre("thread-42"));
  EXPECT_THAT(store_->ReadContexts(UserId("bob"), {})->contexts, IsEmpty());
}

TEST_P(EventStoreTest, IdempotencyClaimRecordsRefusedEventsAsSequenceZero) {
  const std::vector<IdempotencyClaim> claims = {
      IdempotencyClaim{"k", "fp", {1, IdempotencyClaim::kRefused, 0}, kT0 + 1h}};
  auto stored = store_->Append(std::vector{Draft("alice"), Draft("alice")}, claims, {}, kT0);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  auto record = store_->FindIdempotencyKey("k", kT0);
  ASSERT_TRUE(record.has_value() && record->has_value());
  std::vector<std::uint64_t> sequences;
  for (const EventId& id : (*record)->event_ids) sequences.push_back(id.sequence);
  EXPECT_THAT(sequences, ElementsAre(2, 0, 1));
}

INSTANTIATE_TEST_SUITE_P(
    Stores, EventStoreTest,
    ::testing::Values(StoreKind{"Memory",
                                [](const TempDir&) { return std::make_unique<MemoryStore>(); }},
                      StoreKind{"Sqlite",
                                [](const TempDir& dir) {
                                  return std::make_unique<SqliteStore>(
                                      SqliteStoreOptions{.path = dir.File("events.db")});
                                }},
                      StoreKind{"Postgres",
                                [](const TempDir&) {
                                  return std::make_unique<PgStore>(PgStoreOptions{
                                      .url = herald::testing::PgServer::Shared().CreateDatabase()});
                                }}),
    [](const ::testing::TestParamInfo<StoreKind>& info) { return info.param.name; });

// A database of schema version 2, from before context ids were per user: its contexts keep their
// owners, statistics and task ids.
TEST(PgStoreMigrationTest, ContextsOfAVersion2DatabaseKeepTheirOwnersAndTasks) {
  const std::string url = herald::testing::PgServer::Shared().CreateDatabase();
  {
    pg::Connection db;
    ASSERT_FALSE(db.Open(url, "test"));
    pg::Migrate(db, 2);
    ASSERT_TRUE(db.Exec("INSERT INTO herald_contexts VALUES ('c1', 'alice', 'Trip', "
                        "'conversation', 1000, 2000, 1, 4, 1500); "
                        "INSERT INTO herald_context_tasks VALUES ('c1', 't1')")
                    .ok());
  }
  PgStore store(PgStoreOptions{.url = url});
  const auto found = store.FindContext(Key("c1", "alice"));
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "Trip");
  EXPECT_EQ((*found)->message_count, 4u);
  EXPECT_TRUE(*store.TaskSeen(Key("c1", "alice"), "t1"));
  EXPECT_FALSE(store.FindContext(Key("c1", "bob"))->has_value());
  // bob may now have a c1 of his own.
  ASSERT_TRUE(store
                  .Append(std::vector{Draft("bob")}, {},
                          std::vector{Upsert(Context("c1", "bob", 3'000))}, kT0)
                  .has_value());
  EXPECT_EQ(store.FindContext(Key("c1", "alice"))->value().name, "Trip");
}

TEST(MemoryStoreTest, HistoryCanBeInjected) {
  MemoryStore store(0x0f3a9c21);
  EXPECT_EQ(store.History(), 0x0f3a9c21u);
  EXPECT_NE(MemoryStore().History(), 0u);
}

}  // namespace
}  // namespace herald::store
