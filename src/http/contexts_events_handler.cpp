#include "http/contexts_events_handler.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/event_id.h"
#include "core/ids.h"
#include "http/authenticate.h"
#include "http/publish_client.h"
#include "http/publish_handler.h"
#include "hub/publication.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

// The draft an envelope {"protocol","event"} asks for, to the context `context` of the caller,
// or why not. Parses in the thread's scratch memory: every parsed value is gone when this returns.
hub::DraftResult DraftFromEnvelope(const Request& request, const auth::Claims& claims,
                                   ContextId context, std::chrono::system_clock::time_point now,
                                   ValidationMode validation) {
  boost::json::monotonic_resource memory = ThreadParseMemory(request.body().size());
  NumberTexts numbers;
  auto parsed = ParseJsonBody(request, &numbers, boost::json::storage_ptr(&memory));
  if (!parsed) return parsed.error();
  auto* body = parsed->if_object();
  if (body == nullptr) return InvalidField("body", "The body must be a JSON object.");
  auto envelope = hub::EnvelopeOf(*body);
  if (!envelope) return envelope.error();
  auto draft = hub::FinishDraft(envelope->protocol, claims.user, std::move(context),
                                std::move(*envelope->event), claims, now, validation, "event.");
  if (!draft) return draft;
  numbers.Restore(draft->json);
  draft->context_must_exist = true;
  return draft;
}

// The answer's body for the event `published` of `protocol` in the context `context_id`.
std::string EventAnswer(Protocol protocol, std::string_view context_id,
                        const hub::PublishedEvent& published) {
  boost::json::object response;
  response["success"] = true;
  response["protocol"] = ProtocolName(protocol);
  response["broadcast_count"] = published.connection_count;
  response["context_id"] = context_id;
  response["event_id"] = FormatEventId(published.id);
  return boost::json::serialize(response);
}

}  // namespace

asio::awaitable<Response> HandleContextEvents(const Request& request, const RouteMatch& match,
                                              Requester* requester, Services* services) {
  const auto now = services->Now();
  auto caller = AuthenticateAndCharge(request, match.query, *services, hub::RateLimitKind::kPublish,
                                      *requester);
  if (!caller) co_return ErrorResponse(request, caller.error(), now);
  // The {id} of the path, or 400 (never a crash, spec §1.3).
  if (!IsValidContextId(match.path_id)) {
    co_return ErrorResponse(request, {ErrorCode::kBadRequest, "Malformed context id.", {}, {}},
                            now);
  }
  const auth::Claims& claims = *caller;

  auto draft = DraftFromEnvelope(request, claims, ContextId(match.path_id), now,
                                 services->options.validation);
  if (!draft) co_return ErrorResponse(request, draft.error(), now);
  const Protocol protocol = draft->protocol;
  auto idempotency =
      IdempotencyOf(request, claims, "/api/v1/core/contexts/" + match.path_id + "/events");
  if (!idempotency) co_return ErrorResponse(request, idempotency.error(), now);
  std::vector<EventDraft> drafts;
  drafts.push_back(*std::move(draft));
  const hub::PublishOutcome outcome =
      co_await Publish(services->hub.publisher(), std::move(drafts), *std::move(idempotency));
  if (!outcome) co_return ErrorResponse(request, outcome.error(), services->Now());
  const Result<hub::PublishedEvent>& published = outcome->events.front();
  if (!published) co_return ErrorResponse(request, published.error(), services->Now());

  Response reply = JsonResponse(request, beast_http::status::ok,
                                EventAnswer(protocol, match.path_id, *published));
  MarkReplayed(reply, outcome);
  co_return reply;
}

}  // namespace herald::http
