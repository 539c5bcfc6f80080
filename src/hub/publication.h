// Turning a publish request's JSON into an EventDraft (spec §1.2, §3): who it is for, whether
// the caller may publish for them, whether the event is valid, and which context it belongs to.
// Pure: no HTTP, no I/O.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <variant>

#include "auth/verifier.h"
#include "core/error.h"
#include "core/event.h"
#include "core/event_validation.h"

namespace herald::hub {

// The scope that lets a service publish for any user (spec §2).
inline constexpr std::string_view kPublishScope = "events:publish";

using DraftResult = Result<EventDraft>;

// A webhook body (spec §1.2): one event of `protocol` plus a top-level "user_id" and optional
// "context_id". Those two routing fields are removed from the event that is delivered.
DraftResult DraftFromWebhook(Protocol protocol, boost::json::object body,
                             const auth::Claims& caller, std::chrono::system_clock::time_point now,
                             ValidationMode validation);

// POST /api/v1/webhook/broadcast (docs/MIGRATING.md): the original system's
// {"event_type","entity_id","context_id","user_id","task_data"?,"step_data"?} turned into the
// AG-UI CUSTOM event it produced for that event_type. `custom_name` receives the event's name.
// event_types whose event needs data only the original's database has answer 422 naming
// event_type and what is missing.
DraftResult DraftFromBroadcast(const boost::json::object& body, const auth::Claims& caller,
                               std::chrono::system_clock::time_point now, ValidationMode validation,
                               std::string& custom_name);

// An envelope (a batch item, or the body of POST /api/v1/core/contexts/{id}/events): its
// {"protocol": "agui" | "a2a" | "system", "event": {…}}, or the field that is wrong. `event` points
// into `envelope`.
struct Envelope {
  Protocol protocol;
  boost::json::object* event;
};
Result<Envelope> EnvelopeOf(boost::json::object& envelope);

// The shared tail of every publish route: authorisation, validation, timestamp, attribution
// (spec §3.4) and compact encoding. `field_prefix` is prepended to validation field names
// (e.g. "event." for envelopes).
DraftResult FinishDraft(Protocol protocol, UserId user, std::optional<ContextId> context,
                        boost::json::object event, const auth::Claims& caller,
                        std::chrono::system_clock::time_point now, ValidationMode validation,
                        std::string_view field_prefix = "");

}  // namespace herald::hub
