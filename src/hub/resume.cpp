#include "hub/resume.h"

namespace herald::hub {

ResumePlan PlanResume(std::optional<EventId> cursor, std::uint32_t history,
                      store::UserRange range) {
  if (!cursor) return {ResumeKind::kFresh, range.last, {}};
  if (cursor->history != history) return {ResumeKind::kReset, range.last, "unknown_history"};
  if (cursor->sequence > range.last) return {ResumeKind::kReset, range.last, "future_id"};
  // Events (cursor, first) were pruned: the client would miss them.
  if (cursor->sequence + 1 < range.first) return {ResumeKind::kReset, range.last, "expired"};
  return {ResumeKind::kReplay, cursor->sequence, {}};
}

}  // namespace herald::hub
