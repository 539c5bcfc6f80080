#include "hub/resume.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace herald::hub {
namespace {

constexpr std::uint32_t kHistory = 0x0f3a9c21;

struct ResumeCase {
  const char* name;
  std::optional<EventId> cursor;
  store::UserRange range;
  ResumeKind kind;
  std::uint64_t after_sequence;
  std::string reset_reason;
};

class PlanResumeTest : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(PlanResumeTest, DecidesWhereTheStreamStarts) {
  const ResumeCase& c = GetParam();
  const ResumePlan plan = PlanResume(c.cursor, kHistory, c.range);
  EXPECT_EQ(plan.kind, c.kind);
  EXPECT_EQ(plan.after_sequence, c.after_sequence);
  EXPECT_EQ(plan.reset_reason, c.reset_reason);
}

EventId Id(std::uint64_t sequence, std::uint32_t history = kHistory) {
  return EventId{history, sequence};
}

// UserRange{first, last}: sequences first..last are retained.
INSTANTIATE_TEST_SUITE_P(
    Cases, PlanResumeTest,
    ::testing::Values(
        // No cursor: go live from the newest event.
        ResumeCase{"NoCursor", std::nullopt, {1, 5}, ResumeKind::kFresh, 5, ""},
        ResumeCase{"NoCursorNoEvents", std::nullopt, {1, 0}, ResumeKind::kFresh, 0, ""},
        // A cursor from another store's history cannot be honoured.
        ResumeCase{
            "OtherHistory", Id(3, 0xdeadbeef), {1, 5}, ResumeKind::kReset, 5, "unknown_history"},
        ResumeCase{"OtherHistoryEvenIfInRange",
                   Id(5, kHistory + 1),
                   {1, 5},
                   ResumeKind::kReset,
                   5,
                   "unknown_history"},
        // A cursor this store never issued (yet).
        ResumeCase{"FutureId", Id(6), {1, 5}, ResumeKind::kReset, 5, "future_id"},
        ResumeCase{"FutureIdUserWithNoEvents", Id(1), {1, 0}, ResumeKind::kReset, 0, "future_id"},
        // Events after the cursor were pruned: replaying would leave a gap.
        ResumeCase{"PrunedGap", Id(8), {10, 20}, ResumeKind::kReset, 20, "expired"},
        ResumeCase{"PrunedGapOfOne", Id(3), {5, 20}, ResumeKind::kReset, 20, "expired"},
        ResumeCase{"EverythingPrunedCursorBehind", Id(4), {6, 5}, ResumeKind::kReset, 5, "expired"},
        // Boundaries that replay.
        ResumeCase{"CursorJustBeforeFirstReplaysAll", Id(9), {10, 20}, ResumeKind::kReplay, 9, ""},
        ResumeCase{"CursorInsideRange", Id(15), {10, 20}, ResumeKind::kReplay, 15, ""},
        ResumeCase{"CursorAtLastReplaysNothingNew", Id(20), {10, 20}, ResumeKind::kReplay, 20, ""},
        ResumeCase{"CursorAtLastWhenEverythingPruned", Id(5), {6, 5}, ResumeKind::kReplay, 5, ""},
        ResumeCase{"CursorAtZeroWithNothingPruned", Id(0), {1, 5}, ResumeKind::kReplay, 0, ""},
        ResumeCase{"CursorAtZeroUserWithNoEvents", Id(0), {1, 0}, ResumeKind::kReplay, 0, ""},
        // "<history>-0" from a stream opened before the user's first event, after pruning.
        ResumeCase{"CursorAtZeroAfterPruning", Id(0), {3, 5}, ResumeKind::kReset, 5, "expired"}),
    [](const ::testing::TestParamInfo<ResumeCase>& info) { return info.param.name; });

}  // namespace
}  // namespace herald::hub
