#include "http/publish_handler.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <memory>

#include "core/event_id.h"
#include "core/event_validation.h"
#include "http/authenticate.h"
#include "http/publish_client.h"
#include "hub/publication.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

// FNV-1a, 64 bits: a stable fingerprint (the same across restarts) of a request body.
std::string Fingerprint(std::string_view route, std::string_view body) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  const auto mix = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 0x100000001b3ull;
    }
  };
  mix(route);
  mix(std::string_view("\0", 1));
  mix(body);
  return fmt::format("{:016x}-{}", hash, body.size());
}

// The memory behind ThreadParseMemory: one buffer, grown to the largest body seen (within the
// bounds) and kept.
class ParseScratch {
 public:
  static constexpr std::size_t kMinBytes = std::size_t{64} << 10;
  static constexpr std::size_t kMaxBytes = std::size_t{4} << 20;
  static constexpr std::size_t kBytesPerBodyByte = 4;  // the DOM of a body: ~3x its text

  boost::json::monotonic_resource Resource(std::size_t body_bytes) {
    const std::size_t wanted = std::clamp(body_bytes * kBytesPerBodyByte, kMinBytes, kMaxBytes);
    if (wanted > size_) {
      buffer_ = std::make_unique<unsigned char[]>(wanted);
      size_ = wanted;
    }
    return {buffer_.get(), size_};
  }

 private:
  std::unique_ptr<unsigned char[]> buffer_;
  std::size_t size_ = 0;
};

// The draft a webhook body asks for (`route`: agui, a2a or broadcast), or why not. Parses in the
// thread's scratch memory: every parsed value is gone when this returns.
hub::DraftResult DraftWebhook(const Request& request, RouteId route, const auth::Claims& claims,
                              std::chrono::system_clock::time_point now, ValidationMode validation,
                              std::string& custom_name) {
  boost::json::monotonic_resource memory = ThreadParseMemory(request.body().size());
  NumberTexts numbers;
  auto parsed = ParseJsonBody(request, &numbers, boost::json::storage_ptr(&memory));
  if (!parsed) return parsed.error();
  auto& body = *parsed;
  if (!body.is_object()) {
    return Error{ErrorCode::kValidationError, "The body must be a JSON object.", "body", {}};
  }
  hub::DraftResult draft =
      route == RouteId::kWebhookBroadcast
          ? hub::DraftFromBroadcast(body.get_object(), claims, now, validation, custom_name)
          : hub::DraftFromWebhook(route == RouteId::kWebhookAgui ? Protocol::kAgui : Protocol::kA2a,
                                  std::move(body.get_object()), claims, now, validation);
  if (draft) numbers.Restore(draft->json);
  return draft;
}

// A webhook route's path: the scope of its Idempotency-Keys.
std::string_view WebhookPath(RouteId route) {
  switch (route) {
    case RouteId::kWebhookBroadcast:
      return "/api/v1/webhook/broadcast";
    case RouteId::kWebhookAgui:
      return "/api/v1/webhook/agui";
    default:
      return "/api/v1/webhook/a2a";
  }
}

// A webhook publish's answer, written out rather than built as a JSON object:
// {"status":"broadcasted","connection_count":N,"event_type":"…" (broadcast only),"event_id":"…"}.
std::string BroadcastedAnswer(const hub::PublishedEvent& published, std::string_view event_type) {
  std::string answer = R"({"status":"broadcasted","connection_count":)";
  answer.append(fmt::format_int(published.connection_count).str());
  if (!event_type.empty()) {
    answer.append(R"(,"event_type":)")
        .append(boost::json::serialize(boost::json::string(event_type)));
  }
  answer.append(R"(,"event_id":")");
  AppendEventId(answer, published.id);
  answer.append("\"}");
  return answer;
}

// A webhook publish as far as the store: the caller charged, the event drafted, the key scoped.
// Apart from HandleWebhook, so that the coroutine's frame holds none of this work's temporaries.
struct WebhookPublish {
  std::vector<EventDraft> drafts;
  std::optional<hub::IdempotencyKey> idempotency;
  std::string custom_name;  // the broadcast route: the CUSTOM event's name
};

Result<WebhookPublish> PrepareWebhook(const Request& request, const RouteMatch& match,
                                      Requester* requester, Services* services) {
  const auto now = services->Now();
  auto caller = AuthenticateAndCharge(request, match.query, *services, hub::RateLimitKind::kPublish,
                                      *requester);
  if (!caller) return caller.error();
  WebhookPublish publish;
  hub::DraftResult draft = DraftWebhook(request, match.route, *caller, now,
                                        services->options.validation, publish.custom_name);
  if (!draft) return draft.error();
  auto idempotency = IdempotencyOf(request, *caller, WebhookPath(match.route));
  if (!idempotency) return idempotency.error();
  publish.drafts.push_back(*std::move(draft));
  publish.idempotency = *std::move(idempotency);
  return publish;
}

// The answer to a webhook publish, from what the store made of it.
Response WebhookAnswer(const Request& request, const hub::PublishOutcome& outcome,
                       std::string_view custom_name, Services* services) {
  if (!outcome) return ErrorResponse(request, outcome.error(), services->Now());
  const Result<hub::PublishedEvent>& event = outcome->events.front();
  if (!event) return ErrorResponse(request, event.error(), services->Now());
  Response reply =
      JsonResponse(request, beast_http::status::ok, BroadcastedAnswer(*event, custom_name));
  MarkReplayed(reply, outcome);
  return reply;
}

}  // namespace

boost::json::monotonic_resource ThreadParseMemory(std::size_t body_bytes) {
  thread_local ParseScratch scratch;
  return scratch.Resource(body_bytes);
}

Result<std::optional<hub::IdempotencyKey>> IdempotencyOf(const Request& request,
                                                         const auth::Claims& caller,
                                                         std::string_view route) {
  const auto header = request.find("Idempotency-Key");
  if (header == request.end()) return std::optional<hub::IdempotencyKey>{};
  const std::string_view key = header->value();
  bool valid = !key.empty() && key.size() <= 255;
  for (unsigned char c : key) valid = valid && c > 0x20 && c < 0x7f;
  if (!valid) {
    return Error{
        ErrorCode::kBadRequest, "Idempotency-Key must be 1-255 visible ASCII characters.", {}, {}};
  }
  // Scoped by caller and route: two users' (or routes') equal keys never meet.
  std::string scoped = caller.user.str();
  scoped.push_back('\x1f');
  scoped.append(route).push_back('\x1f');
  scoped.append(key);
  return std::optional<hub::IdempotencyKey>(
      hub::IdempotencyKey{std::move(scoped), Fingerprint(route, request.body())});
}

void MarkReplayed(Response& response, const hub::PublishOutcome& outcome) {
  if (outcome && outcome->replayed) response.set("Idempotent-Replayed", "true");
}

std::string MediaType(const Request& request) {
  const auto content_type = request.find(beast_http::field::content_type);
  if (content_type == request.end()) return {};
  const std::string_view value = content_type->value();
  std::string type(value.substr(0, value.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  for (char& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return type;
}

Result<boost::json::value> ParseJsonBody(const Request& request, NumberTexts* numbers,
                                         boost::json::storage_ptr storage) {
  if (MediaType(request) != "application/json") {
    return Error{
        ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json.", {}, {}};
  }
  return ParseJson(request.body(), numbers, std::move(storage));
}

Result<boost::json::value> ParseJson(std::string_view text, NumberTexts* numbers,
                                     boost::json::storage_ptr storage) {
  boost::json::parse_options parse_options;
  parse_options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec, std::move(storage), parse_options);
  if (ec == boost::json::error::too_deep) {
    return Error{
        ErrorCode::kValidationError, "The body is nested more than 64 levels deep.", "body", {}};
  }
  if (ec) return Error{ErrorCode::kBadRequest, "The body is not valid JSON.", {}, {}};
  if (numbers != nullptr) *numbers = NumberTexts::Of(text, value, kMaxJsonDepth);
  return value;
}

asio::awaitable<Response> HandleWebhook(const Request& request, const RouteMatch& match,
                                        Requester* requester, Services* services) {
  auto prepared = PrepareWebhook(request, match, requester, services);
  if (!prepared) co_return ErrorResponse(request, prepared.error(), services->Now());
  const hub::PublishOutcome outcome = co_await Publish(
      services->hub.publisher(), std::move(prepared->drafts), std::move(prepared->idempotency));
  co_return WebhookAnswer(request, outcome, prepared->custom_name, services);
}

}  // namespace herald::http
