// Where a (re)connecting stream starts (spec §4): pure decision, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/event_id.h"
#include "store/event_store.h"

namespace herald::hub {

enum class ResumeKind {
  kFresh,   // no cursor: contexts gets a snapshot, agui/a2a go live
  kReplay,  // replay stored events after `after_sequence`, then go live
  kReset,   // the cursor cannot be honoured: contexts gets a snapshot, agui/a2a a reset frame
};

struct ResumePlan {
  ResumeKind kind = ResumeKind::kFresh;
  std::uint64_t after_sequence = 0;
  std::string reset_reason;  // for kReset: "unknown_history", "future_id" or "expired"
};

// `cursor` is the parsed Last-Event-ID (nullopt when absent or malformed); `range` is the user's
// retained range read after the subscriber was registered.
ResumePlan PlanResume(std::optional<EventId> cursor, std::uint32_t history, store::UserRange range);

}  // namespace herald::hub
