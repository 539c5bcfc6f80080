// Bytes → a stream's resume position (spec §4): ParseEventId, which reads the Last-Event-ID
// header and ?last_event_id=, the resume plan a parsed id leads to, and the client-id rules that
// judge the ?context_id= beside it (core/ids.h).
//
// Invariants: a parsed id formats back to the very same text, and any id formats to text that
// parses back to it; a plan replays only from a position the user's range still holds; a valid
// context id is a valid client id without '/' or '\\'.
#include <cstdint>
#include <cstring>
#include <string>

#include "core/event_id.h"
#include "core/ids.h"
#include "fuzz_support.h"
#include "hub/resume.h"

namespace {

using herald::EventId;
using herald::fuzz::Require;
using herald::hub::ResumeKind;
using herald::hub::ResumePlan;
using herald::store::UserRange;

void CheckPlan(EventId cursor, std::uint32_t history, UserRange range) {
  const ResumePlan plan = herald::hub::PlanResume(cursor, history, range);
  if (plan.kind == ResumeKind::kReplay) {
    Require(cursor.history == history, "a replay is from this store's history");
    Require(plan.after_sequence == cursor.sequence, "a replay starts after the cursor");
    Require(cursor.sequence <= range.last, "a replay never starts in the future");
    Require(cursor.sequence + 1 >= range.first, "a replay never skips pruned events");
  } else {
    Require(plan.kind == ResumeKind::kReset && !plan.reset_reason.empty(),
            "a cursor that cannot be replayed from is reset, with a reason");
  }
}

// The ranges a user may have around `cursor`: empty, holding it, ending before it, pruned past
// it; and the same id from another store.
void CheckPlans(EventId cursor) {
  const std::uint64_t s = cursor.sequence;  // at most 19 digits: s + 5 cannot overflow
  CheckPlan(cursor, cursor.history, UserRange{1, 0});
  CheckPlan(cursor, cursor.history, UserRange{1, s + 5});
  CheckPlan(cursor, cursor.history, UserRange{s / 2 + 1, s});
  CheckPlan(cursor, cursor.history, UserRange{s + 2, s + 5});
  CheckPlan(cursor, cursor.history ^ 1u, UserRange{1, s + 5});
  Require(herald::hub::PlanResume(std::nullopt, cursor.history, UserRange{1, s}).kind ==
              ResumeKind::kFresh,
          "no cursor starts fresh");
}

void CheckIds(std::string_view text) {
  const bool client = herald::IsValidClientId(text);
  if (client) {
    Require(text.size() <= herald::kMaxIdBytes && !herald::HasControlCharacter(text),
            "a valid client id is short and has no control character");
  }
  if (herald::IsValidContextId(text)) {
    Require(client, "a valid context id is a valid client id");
    Require(text.find_first_of("/\\") == std::string_view::npos, "a context id has no slash");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = herald::fuzz::AsText(data, size);
  if (const auto id = herald::ParseEventId(text)) {
    Require(herald::FormatEventId(*id) == text, "a parsed id formats back to the same text");
    CheckPlans(*id);
  }
  // The other way round: the first 12 bytes as an id, which must survive its text form.
  if (size >= 12) {
    EventId id;
    std::memcpy(&id.history, data, sizeof id.history);
    std::memcpy(&id.sequence, data + sizeof id.history, sizeof id.sequence);
    // Stores keep sequences as signed 64-bit integers (SQLite, PostgreSQL BIGINT).
    id.sequence &= static_cast<std::uint64_t>(INT64_MAX);
    const auto again = herald::ParseEventId(herald::FormatEventId(id));
    Require(again.has_value() && *again == id, "a formatted id parses back to itself");
  }
  CheckIds(text);
  return 0;
}
