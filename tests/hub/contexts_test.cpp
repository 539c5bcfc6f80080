// GroupContexts: attribution, statistics and context commands as the writer thread plans a group
// (spec §1.3, §3.4), against a MemoryStore.
#include "hub/contexts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "store/memory_store.h"
#include "support/manual_clock.h"

namespace herald::hub {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

const auto kT0 = std::chrono::system_clock::time_point(1'700'000'000'000ms);
constexpr std::int64_t kT0Ms = 1'700'000'000'000;

EventDraft Event(std::string user, Protocol protocol, std::string type,
                 std::optional<std::string> context, std::optional<std::string> task = {}) {
  EventDraft draft;
  draft.user = UserId(std::move(user));
  draft.protocol = protocol;
  if (context) draft.context = ContextId(*context);
  draft.json = R"({"type":")" + type + R"("})";
  draft.type = std::move(type);
  draft.task = std::move(task);
  return draft;
}

std::vector<std::string> Types(const std::vector<EventDraft>& drafts) {
  std::vector<std::string> types;
  for (const EventDraft& d : drafts) types.push_back(d.type);
  return types;
}

class GroupContextsTest : public ::testing::Test {
 protected:
  // Plans `drafts` as one group at `now` and commits what it decided, like the publisher.
  std::vector<GroupContexts::Verdict> Group(std::vector<EventDraft> drafts,
                                            std::chrono::system_clock::time_point now = kT0) {
    auto transaction = Begin();
    GroupContexts group(*transaction, now, true, limits_);
    std::vector<GroupContexts::Verdict> verdicts;
    std::vector<EventDraft> out;
    for (EventDraft& d : drafts) {
      verdicts.push_back(group.Attribute(d, out));
      if (verdicts.back() == GroupContexts::Verdict::kAccepted) out.push_back(std::move(d));
    }
    EXPECT_TRUE(transaction->Commit(out, {}, group.Writes(), now).has_value());
    last_out_ = std::move(out);
    return verdicts;
  }

  std::unique_ptr<store::WriteGroup> Begin() { return *store_.BeginGroup(); }

  std::optional<store::ContextRecord> Find(const std::string& id,
                                           const std::string& user = "alice") {
    return *store_.FindContext({UserId(user), ContextId(id)});
  }

  // Applies `command` in a group of its own, committed like the publisher commits it.
  Result<store::ContextRecord> Command(ContextCommand command) {
    auto transaction = Begin();
    GroupContexts group(*transaction, kT0, true, limits_);
    std::vector<EventDraft> out;
    auto answer = group.Apply(command, out);
    if (!out.empty()) {
      EXPECT_TRUE(transaction->Commit(out, {}, group.Writes(), kT0).has_value());
    }
    return answer;
  }

  std::size_t Count(const std::string& user) {
    return store_.ReadContexts(UserId(user), {})->contexts.size();
  }

  store::MemoryStore store_;
  std::vector<EventDraft> last_out_;
  ContextLimits limits_;
  testing::ManualClock clock_;  // the creation rate's time: moves only when a test moves it
};

ContextCommand Create(const std::string& user, const std::string& id) {
  return {ContextCommand::Kind::kCreate, UserId(user), ContextId(id), "n"};
}

ContextCommand Delete(const std::string& user, const std::string& id) {
  return {ContextCommand::Kind::kDelete, UserId(user), ContextId(id), {}};
}

// The refusal in a command's answer, if any.
std::optional<Error> Refusal(const Result<store::ContextRecord>& answer) {
  if (answer || store::IsStoreFailure(answer.error())) return std::nullopt;
  return answer.error();
}

// ---- Limits (issue 14) -------------------------------------------------------------------------

TEST_F(GroupContextsTest, PastTheCapACreateIsConflictAndAnEventIsKeptWithoutCreatingOne) {
  Metrics metrics;
  limits_ = {.max_per_user = 2, .creates = nullptr, .metrics = &metrics};
  ASSERT_FALSE(Refusal(Command(Create("alice", "c1"))));
  // In one group: the second fits, the third does not; bob has a cap of his own.
  EXPECT_THAT(Group({Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c2", "t1"),
                     Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c3", "t2"),
                     Event("bob", Protocol::kA2a, "TASK_SUBMITTED", "c3", "t3")}),
              ElementsAre(GroupContexts::Verdict::kAccepted, GroupContexts::Verdict::kAccepted,
                          GroupContexts::Verdict::kAccepted));
  EXPECT_THAT(Types(last_out_), ElementsAre("CONTEXT_CREATED", "TASK_SUBMITTED", "TASK_SUBMITTED",
                                            "CONTEXT_CREATED", "TASK_SUBMITTED"))
      << "c3 of alice's is delivered, without a CONTEXT_CREATED";
  EXPECT_EQ(Count("alice"), 2u);
  EXPECT_FALSE(Find("c3"));
  EXPECT_TRUE(Find("c3", "bob"));

  const std::optional<Error> refused = Refusal(Command(Create("alice", "c4")));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ErrorCode::kConflict);
  EXPECT_EQ(refused->message, "This user has reached the limit of 2 contexts; delete some first.");
  EXPECT_FALSE(Find("c4"));
  EXPECT_NE(
      metrics.RenderPrometheus().find("herald_context_creations_refused_total{reason=\"cap\"} 2\n"),
      std::string::npos);
}

TEST_F(GroupContextsTest, ADeletionMakesRoomUnderTheCapAtOnceEvenWithinTheGroup) {
  limits_ = {.max_per_user = 1, .creates = nullptr, .metrics = nullptr};
  ASSERT_FALSE(Refusal(Command(Create("alice", "c1"))));
  ASSERT_TRUE(Refusal(Command(Create("alice", "c2"))));
  ASSERT_FALSE(Refusal(Command(Delete("alice", "c1"))));
  EXPECT_FALSE(Refusal(Command(Create("alice", "c2"))));

  // A system CONTEXT_DELETED and a new context in one group.
  EventDraft deleted = Event("alice", Protocol::kSystem, "CONTEXT_DELETED", "c2");
  deleted.context_effect = EventDraft::ContextEffect::kDelete;
  EXPECT_THAT(Group({deleted, Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c3", "t1")}),
              ElementsAre(GroupContexts::Verdict::kAccepted, GroupContexts::Verdict::kAccepted));
  EXPECT_FALSE(Find("c2"));
  EXPECT_TRUE(Find("c3"));
  EXPECT_EQ(Count("alice"), 1u);
}

TEST_F(GroupContextsTest, PastTheCreationRateACreateIs429WithRetryAfterAndEventsCreateNone) {
  RateLimiter creates({.per_second = 0.001, .burst = 2});
  Metrics metrics;
  limits_ = {.max_per_user = 0, .creates = &creates, .metrics = &metrics, .clock = &clock_};
  EXPECT_THAT(Group({Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c1", "t1"),
                     Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c2", "t2"),
                     Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c3", "t3"),
                     Event("alice", Protocol::kA2a, "AGENT_MESSAGE", "c1", "t1")}),
              ElementsAre(GroupContexts::Verdict::kAccepted, GroupContexts::Verdict::kAccepted,
                          GroupContexts::Verdict::kAccepted, GroupContexts::Verdict::kAccepted));
  EXPECT_TRUE(Find("c1"));
  EXPECT_TRUE(Find("c2"));
  EXPECT_FALSE(Find("c3"));
  EXPECT_EQ(Find("c1")->message_count, 1u) << "an existing context still counts";

  const std::optional<Error> refused = Refusal(Command(Create("alice", "c4")));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ErrorCode::kRateLimited);
  EXPECT_EQ(refused->message, "Contexts are being created too fast for this user; retry later.");
  EXPECT_GE(refused->retry_after, 1s);
  EXPECT_FALSE(Refusal(Command(Create("bob", "c4")))) << "bob's budget is his own";
  EXPECT_NE(metrics.RenderPrometheus().find(
                "herald_context_creations_refused_total{reason=\"rate\"} 2\n"),
            std::string::npos);
}

TEST_F(GroupContextsTest, ACreateRefusedForTheRateGoesAheadOnceTheClockHasMovedByItsRetryAfter) {
  RateLimiter creates({.per_second = 0.5, .burst = 1});
  limits_ = {.max_per_user = 0, .creates = &creates, .metrics = nullptr, .clock = &clock_};
  ASSERT_FALSE(Refusal(Command(Create("alice", "c1"))));
  const std::optional<Error> refused = Refusal(Command(Create("alice", "c2")));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ErrorCode::kRateLimited);
  EXPECT_EQ(refused->retry_after, 2s);

  clock_.Advance(1s);
  EXPECT_TRUE(Refusal(Command(Create("alice", "c2")))) << "half a token is not one";
  clock_.Advance(1s);
  EXPECT_FALSE(Refusal(Command(Create("alice", "c2"))));
  EXPECT_TRUE(Find("c2"));
}

TEST_F(GroupContextsTest, UnknownContextIsCreatedForThePublisherWithItsCreatedEventFirst) {
  EXPECT_THAT(Group({Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c1", "t1")}),
              ElementsAre(GroupContexts::Verdict::kAccepted));
  EXPECT_THAT(Types(last_out_), ElementsAre("CONTEXT_CREATED", "TASK_SUBMITTED"));
  const EventDraft& created = last_out_[0];
  EXPECT_EQ(created.protocol, Protocol::kSystem);
  EXPECT_EQ(created.user, UserId("alice"));
  EXPECT_EQ(created.context, ContextId("c1"));
  const auto json = boost::json::parse(created.json).as_object();
  EXPECT_EQ(json.at("contextId").as_string(), "c1");
  EXPECT_EQ(json.at("name").as_string(), "Conversation 1700000000000");
  EXPECT_EQ(json.at("timestamp").as_string(), "2023-11-14T22:13:20.000Z");

  const auto c1 = Find("c1");
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->owner, UserId("alice"));
  EXPECT_EQ(c1->kind, "conversation");
  EXPECT_EQ(c1->created_at_ms, kT0Ms);
  EXPECT_EQ(c1->task_count, 1u);
  EXPECT_EQ(c1->message_count, 0u);
}

TEST_F(GroupContextsTest, AnotherUserUsingTheSameIdGetsAContextOfTheirOwn) {
  Group({Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c1", "t1")});
  const auto before = Find("c1");
  EXPECT_THAT(Group({Event("bob", Protocol::kA2a, "AGENT_MESSAGE", "c1", "t2")}, kT0 + 5s),
              ElementsAre(GroupContexts::Verdict::kAccepted));
  EXPECT_THAT(Types(last_out_), ElementsAre("CONTEXT_CREATED", "AGENT_MESSAGE"));
  EXPECT_EQ(last_out_[0].user, UserId("bob"));
  EXPECT_EQ(Find("c1"), before) << "alice's c1 is untouched";
  const auto bobs = Find("c1", "bob");
  ASSERT_TRUE(bobs);
  EXPECT_EQ(bobs->owner, UserId("bob"));
  EXPECT_EQ(bobs->message_count, 1u);
  EXPECT_EQ(bobs->task_count, 1u);
  EXPECT_FALSE(*store_.TaskSeen({UserId("alice"), ContextId("c1")}, "t2"));
}

TEST_F(GroupContextsTest, RequiredContextThatDoesNotExistIsNotFoundAndNotCreated) {
  EventDraft draft = Event("alice", Protocol::kAgui, "CUSTOM", "nope");
  draft.context_must_exist = true;
  EXPECT_THAT(Group({draft}), ElementsAre(GroupContexts::Verdict::kNotFound));
  EXPECT_FALSE(Find("nope"));
}

TEST_F(GroupContextsTest, EventsWithoutContextAreAcceptedUntouched) {
  EXPECT_THAT(Group({Event("alice", Protocol::kAgui, "TEXT_MESSAGE_END", std::nullopt)}),
              ElementsAre(GroupContexts::Verdict::kAccepted));
  EXPECT_THAT(Types(last_out_), ElementsAre("TEXT_MESSAGE_END"));
  EXPECT_THAT(store_.ReadContexts(UserId("alice"), {})->contexts, IsEmpty());
}

TEST_F(GroupContextsTest, StatisticsCountMessagesAndDistinctTasksAcrossGroups) {
  Group({Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c1", "t1"),
         Event("alice", Protocol::kA2a, "TASK_STATUS_UPDATE", "c1", "t1"),
         Event("alice", Protocol::kA2a, "AGENT_MESSAGE", "c1", "t1"),
         Event("alice", Protocol::kAgui, "TEXT_MESSAGE_END", "c1")});
  // A later group: t1 is known from the store, t2 is new; a TEXT_MESSAGE_CONTENT is no message.
  Group({Event("alice", Protocol::kA2a, "TASK_STATUS_UPDATE", "c1", "t1"),
         Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c1", "t2"),
         Event("alice", Protocol::kAgui, "TEXT_MESSAGE_CONTENT", "c1"),
         Event("alice", Protocol::kA2a, "AGENT_MESSAGE", "c1", "t2")},
        kT0 + 10s);
  const auto c1 = Find("c1");
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->task_count, 2u);
  EXPECT_EQ(c1->message_count, 3u);
  EXPECT_EQ(c1->last_message_at_ms, kT0Ms + 10'000);
  EXPECT_EQ(c1->updated_at_ms, kT0Ms + 10'000);
  EXPECT_EQ(c1->created_at_ms, kT0Ms);
}

TEST_F(GroupContextsTest, UpdatedAtNeverMovesBackWhenTheClockDoes) {
  Group({Event("alice", Protocol::kAgui, "RUN_STARTED", "c1")}, kT0 + 10s);
  Group({Event("alice", Protocol::kAgui, "RUN_FINISHED", "c1")}, kT0);
  EXPECT_EQ(Find("c1")->updated_at_ms, kT0Ms + 10'000);
}

TEST_F(GroupContextsTest, CommandsEmitTheirSystemEventsAndAnswerNotFoundForOthers) {
  auto transaction = Begin();
  GroupContexts group(*transaction, kT0);
  std::vector<EventDraft> out;
  auto created =
      group.Apply({ContextCommand::Kind::kCreate, UserId("alice"), ContextId("c1"), "Trip"}, out);
  ASSERT_TRUE(created.has_value());
  auto renamed = group.Apply(
      {ContextCommand::Kind::kRename, UserId("alice"), ContextId("c1"), "Holiday"}, out);
  ASSERT_TRUE(renamed.has_value());
  EXPECT_EQ(renamed->name, "Holiday");
  for (auto kind : {ContextCommand::Kind::kRename, ContextCommand::Kind::kDelete}) {
    auto refused = group.Apply({kind, UserId("bob"), ContextId("c1"), "Mine"}, out);
    ASSERT_TRUE(refused.has_error() && !store::IsStoreFailure(refused.error()));
    EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  }
  auto missing =
      group.Apply({ContextCommand::Kind::kDelete, UserId("alice"), ContextId("c9"), {}}, out);
  ASSERT_TRUE(missing.has_error() && !store::IsStoreFailure(missing.error()));
  EXPECT_THAT(Types(out), ElementsAre("CONTEXT_CREATED", "CONTEXT_UPDATED"));
  EXPECT_EQ(boost::json::parse(out[1].json).at("name").as_string(), "Holiday");
  ASSERT_TRUE(transaction->Commit(out, {}, group.Writes(), kT0).has_value());
  EXPECT_EQ(Find("c1")->name, "Holiday");
}

TEST_F(GroupContextsTest, DeleteThenAnEventInOneGroupRecreatesTheContextWithFreshStatistics) {
  Group({Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "c1", "t1"),
         Event("alice", Protocol::kA2a, "AGENT_MESSAGE", "c1", "t1")});
  auto transaction = Begin();
  GroupContexts group(*transaction, kT0 + 1s);
  std::vector<EventDraft> out;
  auto deleted =
      group.Apply({ContextCommand::Kind::kDelete, UserId("alice"), ContextId("c1"), {}}, out);
  ASSERT_TRUE(deleted.has_value());
  EventDraft again = Event("alice", Protocol::kA2a, "TASK_STATUS_UPDATE", "c1", "t1");
  ASSERT_EQ(group.Attribute(again, out), GroupContexts::Verdict::kAccepted);
  out.push_back(again);
  EXPECT_THAT(Types(out), ElementsAre("CONTEXT_DELETED", "CONTEXT_CREATED", "TASK_STATUS_UPDATE"));
  ASSERT_TRUE(transaction->Commit(out, {}, group.Writes(), kT0 + 1s).has_value());
  const auto c1 = Find("c1");
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->task_count, 1u) << "t1 counts again in the new context";
  EXPECT_EQ(c1->message_count, 0u);
  EXPECT_EQ(c1->created_at_ms, kT0Ms + 1'000);
}

TEST_F(GroupContextsTest, WithoutAutoCreateUnknownContextsAreNotInventedButKnownOnesCount) {
  // A context created by its owner (through the API, i.e. another system keeping Herald in step).
  auto transaction = Begin();
  GroupContexts group(*transaction, kT0, /*auto_create=*/false);
  std::vector<EventDraft> out;
  ASSERT_TRUE(group.Apply(
      {ContextCommand::Kind::kCreate, UserId("alice"), ContextId("known"), "Known"}, out));
  EventDraft unknown = Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "unknown", "t1");
  EXPECT_EQ(group.Attribute(unknown, out), GroupContexts::Verdict::kAccepted);
  out.push_back(unknown);
  EventDraft known = Event("alice", Protocol::kA2a, "TASK_SUBMITTED", "known", "t1");
  EXPECT_EQ(group.Attribute(known, out), GroupContexts::Verdict::kAccepted);
  out.push_back(known);
  EXPECT_THAT(Types(out), ElementsAre("CONTEXT_CREATED", "TASK_SUBMITTED", "TASK_SUBMITTED"));
  ASSERT_TRUE(transaction->Commit(out, {}, group.Writes(), kT0).has_value());
  EXPECT_FALSE(Find("unknown")) << "no placeholder context";
  ASSERT_TRUE(Find("known"));
  EXPECT_EQ(Find("known")->task_count, 1u);
  // Another user's "known" is not alice's: accepted without a context; /contexts/{id}/events to
  // an unknown one is refused.
  auto next = Begin();
  GroupContexts later(*next, kT0, /*auto_create=*/false);
  EventDraft foreign = Event("bob", Protocol::kAgui, "RUN_STARTED", "known");
  EXPECT_EQ(later.Attribute(foreign, out), GroupContexts::Verdict::kAccepted);
  EXPECT_TRUE(later.Writes().empty());
  EventDraft must = Event("alice", Protocol::kAgui, "RUN_STARTED", "unknown");
  must.context_must_exist = true;
  EXPECT_EQ(later.Attribute(must, out), GroupContexts::Verdict::kNotFound);
}

}  // namespace
}  // namespace herald::hub
