#include "http/contexts_handler.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <charconv>

#include "auth/base64url.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "http/authenticate.h"
#include "http/offload.h"
#include "http/publish_client.h"
#include "http/publish_handler.h"
#include "hub/publication.h"

namespace herald::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

Error BadRequest(std::string message) {
  return Error{ErrorCode::kBadRequest, std::move(message), {}, {}};
}

Error StoreUnavailable() {
  return Error{ErrorCode::kServiceUnavailable,
               "The event store is unavailable; retry shortly.",
               {},
               std::chrono::seconds(1)};
}

std::string Rfc3339(std::int64_t unix_ms) {
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

// A context as the API shows it (spec §1.3); `stats` adds the list's statistics.
boost::json::object ContextJson(const store::ContextRecord& context, bool stats) {
  boost::json::object json;
  json["context_id"] = context.id.str();
  json["user_id"] = context.owner.str();
  json["name"] = context.name;
  json["kind"] = context.kind;
  json["created_at"] = Rfc3339(context.created_at_ms);
  json["updated_at"] = Rfc3339(context.updated_at_ms);
  if (stats) {
    json["task_count"] = context.task_count;
    json["message_count"] = context.message_count;
    if (context.last_message_at_ms) {
      json["last_message_at"] = Rfc3339(*context.last_message_at_ms);
    } else {
      json["last_message_at"] = nullptr;
    }
  }
  return json;
}

// The success envelope of spec §1.3; `meta` may bring fields of its own (the list's paging).
Response EnvelopeResponse(const Request& request, beast_http::status status,
                          boost::json::value data, std::chrono::system_clock::time_point now,
                          boost::json::object meta = {}) {
  meta["timestamp"] = FormatRfc3339(now);
  meta["version"] = "1.0.0";
  boost::json::object body;
  body["data"] = std::move(data);
  body["meta"] = std::move(meta);
  return JsonResponse(request, status, boost::json::serialize(body));
}

// A name from a request body: trimmed of ASCII white space, then 1-kMaxContextNameBytes bytes
// without control characters (the JSON parser has already refused invalid UTF-8).
Result<std::string> ContextName(const boost::json::value& value) {
  const auto* text = value.if_string();
  if (text == nullptr) return BadRequest("name must be a string.");
  std::string_view name = *text;
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const auto first = name.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return BadRequest("name must not be empty.");
  name = name.substr(first, name.find_last_not_of(kSpace) - first + 1);
  if (name.size() > kMaxContextNameBytes) {
    return BadRequest("name must be at most 256 bytes.");
  }
  if (HasControlCharacter(name)) return BadRequest("name must not contain control characters.");
  return std::string(name);
}

// The JSON object of a body; an empty body is an empty object when `empty_ok`.
Result<boost::json::object> BodyObject(const Request& request, bool empty_ok) {
  if (empty_ok && request.body().empty()) return boost::json::object();
  auto parsed = ParseJsonBody(request);
  if (!parsed) return parsed.error();
  auto* object = parsed->if_object();
  if (object == nullptr) return BadRequest("The body must be a JSON object.");
  return std::move(*object);
}

// The {id} of a contexts path, or 400 (never a crash, spec §1.3).
std::optional<Error> CheckPathId(const RouteMatch& match) {
  if (IsValidContextId(match.path_id)) return std::nullopt;
  return BadRequest("Malformed context id.");
}

// Whose contexts a request manages: the caller's, or with `?user_id=` and the events:publish
// scope any user's (another system keeping Herald's table in step, docs/MIGRATING.md).
Result<UserId> ActingUser(const auth::Claims& claims, std::string_view query) {
  const auto param = QueryParam(query, "user_id");
  if (!param || *param == claims.user.str()) return claims.user;
  if (!IsValidClientId(*param)) return BadRequest("Malformed user_id.");
  if (!claims.HasScope(hub::kPublishScope)) {
    return Error{ErrorCode::kForbidden,
                 "User ID mismatch: this token may only manage its own contexts.",
                 {},
                 {}};
  }
  return UserId(std::string(*param));
}

// The list's pages (docs/DECISIONS.md "Contexts"): `limit` entries (default 100, at most 1000)
// after the position an opaque `cursor` names: base64url of "<updated_at_ms>:<context_id>".
constexpr std::size_t kDefaultPageSize = 100;
constexpr std::size_t kMaxPageSize = 1'000;

std::string EncodeCursor(const store::ContextRecord& last) {
  return auth::EncodeBase64Url(std::to_string(last.updated_at_ms) + ":" + last.id.str());
}

std::optional<store::ContextPosition> DecodeCursor(std::string_view cursor) {
  const auto text = auth::DecodeBase64Url(cursor);
  if (!text) return std::nullopt;
  const auto colon = text->find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::int64_t updated_at_ms = 0;
  const char* end = text->data() + colon;
  const auto [stop, error] = std::from_chars(text->data(), end, updated_at_ms);
  const std::string_view id = std::string_view(*text).substr(colon + 1);
  if (error != std::errc() || stop != end || !IsValidContextId(id)) return std::nullopt;
  return store::ContextPosition{updated_at_ms, ContextId(std::string(id))};
}

// The page a list request asks for, or 400.
Result<store::ContextQuery> ListPage(std::string_view query) {
  store::ContextQuery page;
  page.limit = kDefaultPageSize;
  if (const auto limit = QueryParam(query, "limit")) {
    std::size_t value = 0;
    const auto [stop, error] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (error != std::errc() || stop != limit->data() + limit->size() || value < 1 ||
        value > kMaxPageSize) {
      return BadRequest("limit must be an integer from 1 to 1000.");
    }
    page.limit = value;
  }
  if (const auto cursor = QueryParam(query, "cursor")) {
    page.after = DecodeCursor(*cursor);
    if (!page.after) return BadRequest("Malformed cursor.");
  }
  return page;
}

ContextId NewContextId() {
  thread_local boost::uuids::random_generator generate;
  return ContextId(boost::uuids::to_string(generate()));
}

// The list's answer: `view` holds the page and, when another page follows, one context more
// than `limit`.
Response ListResponse(const Request& request, store::ContextsView view, std::size_t limit,
                      std::chrono::system_clock::time_point now) {
  std::vector<store::ContextRecord>& contexts = view.contexts;
  boost::json::object meta;
  meta["total"] = view.total;
  meta["next_cursor"] = nullptr;
  if (contexts.size() > limit) {
    contexts.resize(limit);
    meta["next_cursor"] = EncodeCursor(contexts.back());
  }
  boost::json::array list;
  list.reserve(contexts.size());
  for (const store::ContextRecord& context : contexts) {
    list.emplace_back(ContextJson(context, true));
  }
  return EnvelopeResponse(request, beast_http::status::ok, std::move(list), now, std::move(meta));
}

// The context a create request asks for, or 400.
Result<hub::ContextCommand> CreateCommand(const Request& request, const UserId& user,
                                          std::chrono::system_clock::time_point now) {
  // Without an Authorization header (a cookie or query token) the body must be JSON, even an
  // empty object: another site's page can make a browser send a bodiless or text/plain POST with
  // the user's cookie, but not an application/json one without a CORS preflight.
  const bool bearer = request.find(beast_http::field::authorization) != request.end();
  auto body = BodyObject(request, bearer);
  if (!body) return body.error();
  hub::ContextCommand command{hub::ContextCommand::Kind::kCreate, user, NewContextId(), {}};
  // The caller's own id (the system that owns the conversation chose it), or a fresh one.
  if (const auto* id = body->if_contains("context_id"); id != nullptr && !id->is_null()) {
    if (!id->is_string() || !IsValidContextId(id->get_string())) {
      return BadRequest("Malformed context_id.");
    }
    command.id = ContextId(std::string(id->get_string()));
  }
  const auto* name = body->if_contains("name");
  if (name == nullptr || name->is_null()) {
    command.name = hub::DefaultContextName(now);
  } else {
    auto checked = ContextName(*name);
    if (!checked) return checked.error();
    command.name = *std::move(checked);
  }
  return command;
}

}  // namespace

asio::awaitable<Response> HandleContexts(const Request& request, const RouteMatch& match,
                                         Requester* requester, Services* services) {
  const auto now = services->Now();
  auto caller =
      AuthenticateAndCharge(request, match.query, *services, hub::RateLimitKind::kRead, *requester);
  if (!caller) co_return ErrorResponse(request, caller.error(), now);
  auto acting = ActingUser(*caller, match.query);
  if (!acting) co_return ErrorResponse(request, acting.error(), now);
  const UserId user = *std::move(acting);

  if (request.method() == beast_http::verb::get) {
    auto page = ListPage(match.query);
    if (!page) co_return ErrorResponse(request, page.error(), now);
    store::ContextQuery query = *std::move(page);
    const std::size_t limit = query.limit;
    ++query.limit;  // one more than the page: whether another page follows
    hub::Hub* hub = &services->hub;
    auto view = co_await Offload(hub->store_pool(),
                                 [hub, &user, &query] { return hub->ReadView(user, query); });
    if (!view.has_value()) co_return ErrorResponse(request, StoreUnavailable(), services->Now());
    co_return ListResponse(request, *std::move(view), limit, services->Now());
  }

  auto command = CreateCommand(request, user, now);
  if (!command) co_return ErrorResponse(request, command.error(), now);
  const hub::PublishOutcome outcome =
      co_await Publish(services->hub.publisher(), *std::move(command));
  if (!outcome) co_return ErrorResponse(request, outcome.error(), services->Now());
  co_return EnvelopeResponse(request, beast_http::status::created,
                             ContextJson(*outcome->context, false), services->Now());
}

asio::awaitable<Response> HandleContext(const Request& request, const RouteMatch& match,
                                        Requester* requester, Services* services) {
  const auto now = services->Now();
  auto caller =
      AuthenticateAndCharge(request, match.query, *services, hub::RateLimitKind::kRead, *requester);
  if (!caller) co_return ErrorResponse(request, caller.error(), now);
  if (auto error = CheckPathId(match)) co_return ErrorResponse(request, *error, now);
  auto acting = ActingUser(*caller, match.query);
  if (!acting) co_return ErrorResponse(request, acting.error(), now);
  const UserId user = *std::move(acting);
  const ContextId id(match.path_id);

  if (request.method() == beast_http::verb::get) {
    hub::Hub* hub = &services->hub;
    auto view = co_await Offload(hub->store_pool(), [hub, &user, &id] {
      store::ContextQuery only;
      only.only = id;
      return hub->ReadView(user, only);
    });
    if (!view.has_value()) co_return ErrorResponse(request, StoreUnavailable(), services->Now());
    if (view->contexts.empty()) {
      co_return ErrorResponse(request, {ErrorCode::kNotFound, "Context not found.", {}, {}},
                              services->Now());
    }
    co_return EnvelopeResponse(request, beast_http::status::ok,
                               ContextJson(view->contexts.front(), true), services->Now());
  }

  hub::ContextCommand command{hub::ContextCommand::Kind::kDelete, user, id, {}};
  if (request.method() == beast_http::verb::put) {
    auto body = BodyObject(request, false);
    if (!body) co_return ErrorResponse(request, body.error(), now);
    const auto* name = body->if_contains("name");
    if (name == nullptr || name->is_null()) {
      co_return ErrorResponse(request, BadRequest("name is required."), now);
    }
    auto checked = ContextName(*name);
    if (!checked) co_return ErrorResponse(request, checked.error(), now);
    command.kind = hub::ContextCommand::Kind::kRename;
    command.name = *std::move(checked);
  }
  const hub::PublishOutcome outcome =
      co_await Publish(services->hub.publisher(), std::move(command));
  if (!outcome) co_return ErrorResponse(request, outcome.error(), services->Now());
  if (request.method() == beast_http::verb::delete_) {
    Response response{beast_http::status::no_content, request.version()};
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    co_return response;
  }
  co_return EnvelopeResponse(request, beast_http::status::ok, ContextJson(*outcome->context, false),
                             services->Now());
}

}  // namespace herald::http
