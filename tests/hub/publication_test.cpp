#include "hub/publication.h"

#include <gtest/gtest.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "auth/claims.h"
#include "core/time_format.h"

namespace herald::hub {
namespace {

const std::chrono::system_clock::time_point kNow{std::chrono::milliseconds{1'700'000'000'123}};

auth::Claims Caller(std::string user, std::vector<std::string> scopes = {}) {
  return auth::Claims{UserId(std::move(user)), std::move(scopes), kNow + std::chrono::hours(1)};
}

boost::json::object Object(std::string_view json) { return boost::json::parse(json).as_object(); }

DraftResult Webhook(Protocol protocol, std::string_view body,
                    const auth::Claims& caller = Caller("alice")) {
  return DraftFromWebhook(protocol, Object(body), caller, kNow, ValidationMode::kStrict);
}

// The draft, failing the test (and returning an empty draft) when it is an error.
EventDraft DraftOf(const DraftResult& result) {
  if (!result) {
    const Error error = result.error();
    ADD_FAILURE() << "unexpected error: " << CodeName(error.code) << " " << error.field << ": "
                  << error.message;
    return {};
  }
  return *result;
}

Error ErrorOf(const DraftResult& result) {
  if (result) {
    ADD_FAILURE() << "unexpected draft: " << result->json;
    return {};
  }
  return result.error();
}

constexpr std::string_view kContent =
    R"("type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"hi","timestamp":1)";

// ---- Routing fields -----------------------------------------------------------------------------

struct BadFieldCase {
  const char* name;
  std::string body;
  std::string field;
};

class WebhookBadFieldTest : public ::testing::TestWithParam<BadFieldCase> {};

TEST_P(WebhookBadFieldTest, AnswersValidationErrorNamingTheField) {
  const BadFieldCase& c = GetParam();
  const Error error = ErrorOf(Webhook(Protocol::kAgui, c.body));
  EXPECT_EQ(error.code, ErrorCode::kValidationError);
  EXPECT_EQ(error.field, c.field);
  EXPECT_FALSE(error.message.empty());
}

std::string With(std::string_view routing) {
  return "{" + std::string(kContent) + std::string(routing) + "}";
}

INSTANTIATE_TEST_SUITE_P(
    RoutingFields, WebhookBadFieldTest,
    ::testing::Values(
        BadFieldCase{"UserIdMissing", With(""), "user_id"},
        BadFieldCase{"UserIdNumber", With(R"(,"user_id":42)"), "user_id"},
        BadFieldCase{"UserIdNull", With(R"(,"user_id":null)"), "user_id"},
        BadFieldCase{"UserIdObject", With(R"(,"user_id":{"id":"alice"})"), "user_id"},
        BadFieldCase{"UserIdEmpty", With(R"(,"user_id":"")"), "user_id"},
        BadFieldCase{"UserIdControlCharacter", With(R"(,"user_id":"ali\nce")"), "user_id"},
        BadFieldCase{"UserIdTooLong", With(R"(,"user_id":")" + std::string(257, 'a') + "\""),
                     "user_id"},
        BadFieldCase{"ContextIdNumber", With(R"(,"user_id":"alice","context_id":7)"), "context_id"},
        BadFieldCase{"ContextIdEmpty", With(R"(,"user_id":"alice","context_id":"")"), "context_id"},
        BadFieldCase{"ContextIdControlCharacter",
                     With(R"(,"user_id":"alice","context_id":"c\u0001")"), "context_id"},
        BadFieldCase{"ContextIdNull", With(R"(,"user_id":"alice","context_id":null)"),
                     "context_id"}),
    [](const ::testing::TestParamInfo<BadFieldCase>& info) { return info.param.name; });

TEST(PublicationTest, UserIdOfExactlyTheMaximumLengthIsAccepted) {
  const std::string user(kMaxIdBytes, 'u');
  const EventDraft draft =
      DraftOf(Webhook(Protocol::kAgui, With(R"(,"user_id":")" + user + "\""), Caller(user)));
  EXPECT_EQ(draft.user, UserId(user));
}

// ---- Authorisation ------------------------------------------------------------------------------

TEST(PublicationTest, PublishingForAnotherUserWithoutScopeIsForbiddenWithoutNamingEitherUser) {
  const Error error = ErrorOf(Webhook(Protocol::kAgui, With(R"(,"user_id":"victim-7f3a")"),
                                      Caller("mallory-91c2", {"admin"})));
  EXPECT_EQ(error.code, ErrorCode::kForbidden);
  EXPECT_TRUE(error.message.starts_with("User ID mismatch")) << error.message;
  EXPECT_EQ(error.message.find("victim-7f3a"), std::string::npos);
  EXPECT_EQ(error.message.find("mallory-91c2"), std::string::npos);
}

TEST(PublicationTest, ForbiddenIsDecidedBeforeTheEventIsValidated) {
  // An outsider learns nothing about what a valid event for that user would be.
  const Error error =
      ErrorOf(Webhook(Protocol::kAgui, R"({"type":"NOPE","user_id":"bob"})", Caller("alice")));
  EXPECT_EQ(error.code, ErrorCode::kForbidden);
}

TEST(PublicationTest, PublishScopeAllowsAnyUser) {
  const EventDraft draft = DraftOf(Webhook(Protocol::kAgui, With(R"(,"user_id":"bob")"),
                                           Caller("service", {"admin", "events:publish"})));
  EXPECT_EQ(draft.user, UserId("bob"));
}

TEST(PublicationTest, OwnUserNeedsNoScope) {
  const EventDraft draft = DraftOf(Webhook(Protocol::kA2a,
                                           R"({"type":"TASK_SUBMITTED","taskId":"t1",
                                               "contextId":"c1","agentName":"planner",
                                               "user_id":"alice"})"));
  EXPECT_EQ(draft.user, UserId("alice"));
  EXPECT_EQ(draft.protocol, Protocol::kA2a);
  EXPECT_EQ(draft.type, "TASK_SUBMITTED");
}

// ---- The delivered event ------------------------------------------------------------------------

TEST(PublicationTest, RoutingFieldsAreRemovedAndKeyOrderIsKept) {
  const EventDraft draft = DraftOf(Webhook(
      Protocol::kAgui,
      R"({"user_id":"alice","type":"TEXT_MESSAGE_CONTENT","messageId":"m1","context_id":"c1",
          "zeta":{"b":1,"a":2},"delta":"hi","alpha":[3,2,1],"timestamp":5})"));
  EXPECT_EQ(draft.json, R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","zeta":{"b":1,"a":2},)"
                        R"("delta":"hi","alpha":[3,2,1],"timestamp":5})");
  EXPECT_EQ(draft.context, ContextId("c1"));
}

TEST(PublicationTest, JsonIsCompactAndSingleLine) {
  const EventDraft draft = DraftOf(Webhook(Protocol::kAgui, R"({
      "type" : "TEXT_MESSAGE_CONTENT",
      "messageId" : "m1",
      "delta" : "line one\nline two\r\n",
      "user_id" : "alice",
      "timestamp" : 5
    })"));
  EXPECT_EQ(draft.json.find('\n'), std::string::npos) << draft.json;
  EXPECT_EQ(draft.json.find('\r'), std::string::npos) << draft.json;
  EXPECT_EQ(draft.json,
            R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"line one\nline two\r\n",)"
            R"("timestamp":5})");
}

TEST(PublicationTest, AguiTimestampAddedAsIntegerMilliseconds) {
  const EventDraft draft = DraftOf(Webhook(
      Protocol::kAgui, R"({"type":"TEXT_MESSAGE_END","messageId":"m1","user_id":"alice"})"));
  const boost::json::object event = Object(draft.json);
  ASSERT_TRUE(event.contains("timestamp"));
  ASSERT_TRUE(event.at("timestamp").is_int64()) << draft.json;
  EXPECT_EQ(event.at("timestamp").as_int64(), ToUnixMillis(kNow));
  EXPECT_EQ(event.at("timestamp").as_int64(), 1'700'000'000'123);
}

TEST(PublicationTest, A2aTimestampAddedAsRfc3339String) {
  const EventDraft draft =
      DraftOf(Webhook(Protocol::kA2a, R"({"type":"INPUT_REQUIRED","taskId":"t1","contextId":"c1",
                                   "prompt":"Which city?","user_id":"alice"})"));
  const boost::json::object event = Object(draft.json);
  ASSERT_TRUE(event.contains("timestamp"));
  ASSERT_TRUE(event.at("timestamp").is_string()) << draft.json;
  EXPECT_EQ(event.at("timestamp").as_string(), FormatRfc3339(kNow));
  EXPECT_EQ(event.at("timestamp").as_string(), "2023-11-14T22:13:20.123Z");
}

TEST(PublicationTest, SystemTimestampAddedAsRfc3339String) {
  const EventDraft draft =
      DraftOf(FinishDraft(Protocol::kSystem, UserId("alice"), ContextId("c1"),
                          Object(R"({"type":"CONTEXT_DELETED","contextId":"c1"})"), Caller("alice"),
                          kNow, ValidationMode::kStrict));
  EXPECT_EQ(Object(draft.json).at("timestamp").as_string(), FormatRfc3339(kNow));
}

TEST(PublicationTest, PublishersTimestampIsKept) {
  const EventDraft draft = DraftOf(Webhook(
      Protocol::kA2a, R"({"type":"INPUT_REQUIRED","taskId":"t1","contextId":"c1","prompt":"?",
                          "timestamp":"2020-01-02T03:04:05Z","user_id":"alice"})"));
  EXPECT_EQ(Object(draft.json).at("timestamp").as_string(), "2020-01-02T03:04:05Z");
}

// ---- Attribution (spec §3.4) --------------------------------------------------------------------

struct AttributionCase {
  const char* name;
  Protocol protocol;
  std::string body;
  std::optional<std::string> context;
};

class AttributionTest : public ::testing::TestWithParam<AttributionCase> {};

TEST_P(AttributionTest, PicksTheContextByPrecedence) {
  const AttributionCase& c = GetParam();
  const EventDraft draft = DraftOf(Webhook(c.protocol, c.body));
  if (c.context) {
    EXPECT_EQ(draft.context, ContextId(*c.context));
  } else {
    EXPECT_EQ(draft.context, std::nullopt);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AttributionTest,
    ::testing::Values(
        AttributionCase{"TopLevelWinsOverA2aContextId", Protocol::kA2a,
                        R"({"type":"AGENT_MESSAGE","taskId":"t1","contextId":"from-event",
                            "messageId":"m1","content":"hi","user_id":"alice",
                            "context_id":"top"})",
                        "top"},
        AttributionCase{"TopLevelWinsOverRunThreadId", Protocol::kAgui,
                        R"({"type":"RUN_STARTED","threadId":"th1","runId":"r1",
                            "user_id":"alice","context_id":"top"})",
                        "top"},
        AttributionCase{"A2aContextId", Protocol::kA2a,
                        R"({"type":"AGENT_MESSAGE","taskId":"t1","contextId":"from-event",
                            "messageId":"m1","content":"hi","user_id":"alice"})",
                        "from-event"},
        AttributionCase{"AguiRunStartedThreadId", Protocol::kAgui,
                        R"({"type":"RUN_STARTED","threadId":"th1","runId":"r1",
                            "user_id":"alice"})",
                        "th1"},
        AttributionCase{"AguiRunFinishedThreadId", Protocol::kAgui,
                        R"({"type":"RUN_FINISHED","threadId":"th2","runId":"r1",
                            "user_id":"alice"})",
                        "th2"},
        AttributionCase{"AguiRunErrorWithoutThreadId", Protocol::kAgui,
                        R"({"type":"RUN_ERROR","message":"boom","user_id":"alice"})", std::nullopt},
        AttributionCase{"AguiNonRunEventIgnoresThreadId", Protocol::kAgui,
                        R"({"type":"TEXT_MESSAGE_END","messageId":"m1","threadId":"th1",
                            "user_id":"alice"})",
                        std::nullopt},
        AttributionCase{"AguiNonRunEventIgnoresContextIdField", Protocol::kAgui,
                        R"({"type":"TEXT_MESSAGE_END","messageId":"m1","contextId":"c9",
                            "user_id":"alice"})",
                        std::nullopt},
        AttributionCase{"A2aWithoutContextId", Protocol::kA2a,
                        R"({"type":"JSON_RPC_RESPONSE","id":"req-1","result":{},
                            "user_id":"alice"})",
                        std::nullopt}),
    [](const ::testing::TestParamInfo<AttributionCase>& info) { return info.param.name; });

TEST(PublicationTest, FinishDraftContextArgumentWinsOverTheEvents) {
  const EventDraft draft =
      DraftOf(FinishDraft(Protocol::kA2a, UserId("alice"), ContextId("route-id"),
                          Object(R"({"type":"TASK_SUBMITTED","taskId":"t1","contextId":"from-event",
                             "agentName":"planner"})"),
                          Caller("alice"), kNow, ValidationMode::kStrict, "event."));
  EXPECT_EQ(draft.context, ContextId("route-id"));
}

// CONTEXT_* system events change the context table they name (docs/MIGRATING.md); other system
// events are not attributed by their own fields.
TEST(PublicationTest, ContextSystemEventsAreAttributedToTheContextTheyChange) {
  EventDraft draft =
      DraftOf(FinishDraft(Protocol::kSystem, UserId("alice"), std::nullopt,
                          Object(R"({"type":"CONTEXT_CREATED","contextId":"c1","name":"n"})"),
                          Caller("alice"), kNow, ValidationMode::kStrict));
  EXPECT_EQ(draft.context, ContextId("c1"));
  EXPECT_EQ(draft.protocol, Protocol::kSystem);
  EXPECT_EQ(draft.type, "CONTEXT_CREATED");
  EXPECT_EQ(draft.context_effect, EventDraft::ContextEffect::kUpsert);
  EXPECT_EQ(draft.context_name, "n");
  draft = DraftOf(FinishDraft(Protocol::kSystem, UserId("alice"), std::nullopt,
                              Object(R"({"type":"CONTEXT_DELETED","contextId":"c1"})"),
                              Caller("alice"), kNow, ValidationMode::kStrict));
  EXPECT_EQ(draft.context_effect, EventDraft::ContextEffect::kDelete);
  draft = DraftOf(FinishDraft(Protocol::kSystem, UserId("alice"), std::nullopt,
                              Object(R"({"type":"CONNECTED","connectionId":"7"})"), Caller("alice"),
                              kNow, ValidationMode::kStrict));
  EXPECT_EQ(draft.context, std::nullopt);
  EXPECT_EQ(draft.context_effect, EventDraft::ContextEffect::kNone);
  const Error mismatch =
      ErrorOf(FinishDraft(Protocol::kSystem, UserId("alice"), ContextId("c2"),
                          Object(R"({"type":"CONTEXT_UPDATED","contextId":"c1"})"), Caller("alice"),
                          kNow, ValidationMode::kStrict, "event."));
  EXPECT_EQ(mismatch.field, "event.contextId");
}

// ---- Validation ---------------------------------------------------------------------------------

TEST(PublicationTest, ValidationFailureNamesTheField) {
  const Error missing = ErrorOf(Webhook(
      Protocol::kAgui, R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","user_id":"alice"})"));
  EXPECT_EQ(missing.code, ErrorCode::kValidationError);
  EXPECT_EQ(missing.field, "delta");

  const Error unknown_type =
      ErrorOf(Webhook(Protocol::kA2a, R"({"type":"RUN_STARTED","user_id":"alice"})"));
  EXPECT_EQ(unknown_type.code, ErrorCode::kValidationError);
  EXPECT_EQ(unknown_type.field, "type");

  const Error wrong_kind = ErrorOf(
      Webhook(Protocol::kAgui,
              R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":3,"user_id":"alice"})"));
  EXPECT_EQ(wrong_kind.field, "delta");
}

TEST(PublicationTest, FinishDraftPrefixesTheFieldName) {
  const Error error = ErrorOf(FinishDraft(Protocol::kAgui, UserId("alice"), std::nullopt,
                                          Object(R"({"type":"TOOL_CALL_END"})"), Caller("alice"),
                                          kNow, ValidationMode::kStrict, "event."));
  EXPECT_EQ(error.code, ErrorCode::kValidationError);
  EXPECT_EQ(error.field, "event.toolCallId");
}

TEST(PublicationTest, FinishDraftForAnotherUserWithoutScopeIsForbidden) {
  const Error error = ErrorOf(FinishDraft(Protocol::kSystem, UserId("bob"), ContextId("c1"),
                                          Object(R"({"type":"CONTEXT_DELETED","contextId":"c1"})"),
                                          Caller("alice"), kNow, ValidationMode::kStrict));
  EXPECT_EQ(error.code, ErrorCode::kForbidden);
}

TEST(PublicationTest, EnvelopeGivesItsProtocolAndPointsAtItsEvent) {
  boost::json::object envelope = Object(R"({"protocol":"a2a","event":{"kind":"task"},"x":1})");
  const Result<Envelope> read = EnvelopeOf(envelope);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->protocol, Protocol::kA2a);
  EXPECT_EQ(read->event, &envelope.at("event").as_object());
}

TEST(PublicationTest, EnvelopeNamesAMissingOrUnknownProtocolBeforeTheEvent) {
  for (const std::string_view json :
       {R"({"event":3})", R"({"protocol":1,"event":{}})", R"({"protocol":"AGUI","event":{}})"}) {
    boost::json::object envelope = Object(json);
    const Result<Envelope> read = EnvelopeOf(envelope);
    ASSERT_FALSE(read.has_value()) << json;
    EXPECT_EQ(read.error().code, ErrorCode::kValidationError) << json;
    EXPECT_EQ(read.error().field, "protocol") << json;
    EXPECT_EQ(read.error().message, R"(protocol must be "agui", "a2a" or "system")") << json;
  }
}

TEST(PublicationTest, EnvelopeNamesAnEventThatIsMissingOrNotAnObject) {
  for (const std::string_view json :
       {R"({"protocol":"agui"})", R"({"protocol":"system","event":[]})"}) {
    boost::json::object envelope = Object(json);
    const Result<Envelope> read = EnvelopeOf(envelope);
    ASSERT_FALSE(read.has_value()) << json;
    EXPECT_EQ(read.error().field, "event") << json;
    EXPECT_EQ(read.error().message, "event must be an object") << json;
  }
}

TEST(PublicationTest, WebhookDraftOwnsItsTextWhenTheMemoryTheBodyWasParsedInIsReused) {
  std::vector<unsigned char> memory(16 * 1024);
  DraftResult draft;
  {
    boost::json::monotonic_resource arena(memory.data(), memory.size());
    boost::json::value body =
        boost::json::parse(R"({"user_id":"alice","context_id":"c-9","type":"TEXT_MESSAGE_CONTENT",)"
                           R"("messageId":"m1","delta":"kept"})",
                           boost::json::storage_ptr(&arena));
    draft = DraftFromWebhook(Protocol::kAgui, std::move(body.as_object()), Caller("alice"), kNow,
                             ValidationMode::kStrict);
  }
  std::memset(memory.data(), '#', memory.size());
  ASSERT_TRUE(draft.has_value()) << draft.error().message;
  EXPECT_EQ(draft->user.str(), "alice");
  ASSERT_TRUE(draft->context.has_value());
  EXPECT_EQ(draft->context->str(), "c-9");
  EXPECT_EQ(draft->type, "TEXT_MESSAGE_CONTENT");
  EXPECT_EQ(draft->json, R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"kept",)"
                         R"("timestamp":1700000000123})");
}

}  // namespace
}  // namespace herald::hub
