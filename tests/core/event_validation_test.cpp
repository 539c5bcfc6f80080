// Event validation (spec §3.1, §3.2): one valid example per event type, with the behaviours every
// type shares checked over that table; then the type-specific rules, one test each.
#include "core/event_validation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/time_format.h"

namespace herald {
namespace {

namespace json = boost::json;

json::object Parse(std::string_view text) { return json::parse(text).as_object(); }

// The field a verdict names, or "<valid>" when there is none: comparisons read as the spec does.
std::string FieldOf(Protocol protocol, const json::object& event) {
  const auto error = ValidateEvent(protocol, event);
  return error ? error->field : "<valid>";
}
std::string FieldOf(Protocol protocol, std::string_view text) {
  return FieldOf(protocol, Parse(text));
}

bool IsIdName(std::string_view name) {
  return name == "id" || name.ends_with("Id") || name.ends_with("_id");
}

struct TypeCase {
  Protocol protocol;
  std::string_view example;                         // a valid event of one type
  std::vector<std::string_view> required = {};      // required, of a kind `true` (or "yes") is not
  std::vector<std::string_view> required_any = {};  // required, any JSON value (presence only)
  std::vector<std::string_view> nullable = {};      // required fields for which null is valid

  std::string Type() const { return std::string(Parse(example).at("type").as_string()); }
};

const std::vector<TypeCase>& TypeCases() {
  static const std::vector<TypeCase> cases = {
      // AG-UI 1.0
      {Protocol::kAgui,
       R"({"type":"TEXT_MESSAGE_START","messageId":"m1","role":"assistant"})",
       {"messageId"}},
      {Protocol::kAgui,
       R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"Hello"})",
       {"messageId", "delta"}},
      {Protocol::kAgui, R"({"type":"TEXT_MESSAGE_END","messageId":"m1"})", {"messageId"}},
      {Protocol::kAgui,
       R"({"type":"TEXT_MESSAGE_CHUNK","messageId":"m1","role":"user","delta":"Hi","name":"Al"})"},
      {Protocol::kAgui,
       R"({"type":"TOOL_CALL_START","toolCallId":"t1","toolCallName":"search",
           "parentMessageId":"m1"})",
       {"toolCallId", "toolCallName"}},
      {Protocol::kAgui,
       R"({"type":"TOOL_CALL_ARGS","toolCallId":"t1","delta":"{\"q\":"})",
       {"toolCallId", "delta"}},
      {Protocol::kAgui, R"({"type":"TOOL_CALL_END","toolCallId":"t1"})", {"toolCallId"}},
      {Protocol::kAgui, R"({"type":"TOOL_CALL_CHUNK","toolCallId":"t1","delta":"{}"})"},
      {Protocol::kAgui,
       R"({"type":"TOOL_CALL_RESULT","messageId":"m2","toolCallId":"t1","content":"42",
           "role":"tool"})",
       {"messageId", "toolCallId", "content"}},
      {Protocol::kAgui, R"({"type":"STATE_SNAPSHOT","snapshot":{"count":1}})", {}, {"snapshot"}},
      {Protocol::kAgui,
       R"({"type":"STATE_DELTA","delta":[{"op":"replace","path":"/count","value":2}]})",
       {"delta"}},
      {Protocol::kAgui,
       R"({"type":"MESSAGES_SNAPSHOT","messages":[{"id":"m1","role":"user","content":"Hi"},
           {"id":"m2","role":"assistant","content":"Hello"}]})",
       {"messages"}},
      {Protocol::kAgui,
       R"({"type":"ACTIVITY_SNAPSHOT","messageId":"a1","activityType":"PLAN",
           "content":{"steps":[]},"replace":false})",
       {"messageId", "activityType", "content"}},
      {Protocol::kAgui,
       R"({"type":"ACTIVITY_DELTA","messageId":"a1","activityType":"PLAN",
           "patch":[{"op":"add","path":"/steps/-","value":"book"}]})",
       {"messageId", "activityType", "patch"}},
      {Protocol::kAgui,
       R"({"type":"RAW","event":{"kind":"delta"},"source":"openai"})",
       {},
       {"event"}},
      {Protocol::kAgui,
       R"({"type":"CUSTOM","name":"confetti","value":{"n":3}})",
       {"name"},
       {"value"}},
      {Protocol::kAgui,
       R"({"type":"RUN_STARTED","threadId":"th1","runId":"r1"})",
       {"threadId", "runId"}},
      {Protocol::kAgui,
       R"({"type":"RUN_FINISHED","threadId":"th1","runId":"r1","outcome":{"type":"success"}})",
       {"threadId", "runId"}},
      {Protocol::kAgui, R"({"type":"RUN_ERROR","message":"boom","code":"E1"})", {"message"}},
      {Protocol::kAgui, R"({"type":"STEP_STARTED","stepName":"plan"})", {"stepName"}},
      {Protocol::kAgui, R"({"type":"STEP_FINISHED","stepName":"plan"})", {"stepName"}},
      {Protocol::kAgui, R"({"type":"REASONING_START","messageId":"r1"})", {"messageId"}},
      {Protocol::kAgui,
       R"({"type":"REASONING_MESSAGE_START","messageId":"r1","role":"reasoning"})",
       {"messageId", "role"}},
      {Protocol::kAgui,
       R"({"type":"REASONING_MESSAGE_CONTENT","messageId":"r1","delta":"hm"})",
       {"messageId", "delta"}},
      {Protocol::kAgui, R"({"type":"REASONING_MESSAGE_END","messageId":"r1"})", {"messageId"}},
      {Protocol::kAgui, R"({"type":"REASONING_MESSAGE_CHUNK","messageId":"r1","delta":"hm"})"},
      {Protocol::kAgui, R"({"type":"REASONING_END","messageId":"r1"})", {"messageId"}},
      {Protocol::kAgui,
       R"({"type":"REASONING_ENCRYPTED_VALUE","subtype":"message","entityId":"m1",
           "encryptedValue":"opaque"})",
       {"subtype", "entityId", "encryptedValue"}},
      {Protocol::kAgui,
       R"({"type":"SUBAGENT_STARTED","subagentRunId":"s1","name":"Researcher"})",
       {"subagentRunId", "name"}},
      {Protocol::kAgui, R"({"type":"SUBAGENT_FINISHED","subagentRunId":"s1"})", {"subagentRunId"}},
      {Protocol::kAgui,
       R"({"type":"SUBAGENT_ERROR","subagentRunId":"s1","message":"failed"})",
       {"subagentRunId", "message"}},
      // A2A
      {Protocol::kA2a,
       R"({"type":"TASK_SUBMITTED","taskId":"task-1","contextId":"ctx-1","agentName":"planner",
           "input":"Plan a trip"})",
       {"taskId", "contextId", "agentName"}},
      {Protocol::kA2a,
       R"({"type":"TASK_STATUS_UPDATE","taskId":"task-1","contextId":"ctx-1",
           "state":"TASK_STATE_WORKING","message":{"text":"on it"}})",
       {"taskId", "contextId", "state"}},
      {Protocol::kA2a,
       R"({"type":"ARTIFACT_CREATED","taskId":"task-1","contextId":"ctx-1",
           "artifact":{"artifactId":"art-1","parts":[]}})",
       {"taskId", "contextId", "artifact"}},
      {Protocol::kA2a,
       R"({"type":"ARTIFACT_UPDATED","taskId":"task-1","contextId":"ctx-1","artifactId":"art-1",
           "append":true,"lastChunk":false,"content":"more"})",
       {"taskId", "contextId", "artifactId", "append", "lastChunk"}},
      {Protocol::kA2a,
       R"({"type":"AGENT_MESSAGE","taskId":"task-1","contextId":"ctx-1","messageId":"msg-1",
           "content":"Done"})",
       {"taskId", "contextId", "messageId", "content"}},
      {Protocol::kA2a,
       R"({"type":"INPUT_REQUIRED","taskId":"task-1","contextId":"ctx-1","prompt":"Which city?"})",
       {"taskId", "contextId", "prompt"}},
      {Protocol::kA2a,
       R"({"type":"AUTH_REQUIRED","taskId":"task-1","contextId":"ctx-1",
           "authUrl":"https://example.com/auth"})",
       {"taskId", "contextId", "authUrl"}},
      {Protocol::kA2a,
       R"({"type":"JSON_RPC_RESPONSE","id":"req-1","result":{"ok":true}})",
       {"id"},
       {"result"}},
      {Protocol::kA2a,
       R"({"type":"JSON_RPC_ERROR","id":7,"code":-32600,"message":"Invalid Request",
           "data":{"detail":"x"}})",
       {"id", "code", "message"},
       {},
       {"id"}},
      // System
      {Protocol::kSystem,
       R"({"type":"CONTEXT_CREATED","contextId":"ctx-1","name":"Trip"})",
       {"contextId", "name"}},
      {Protocol::kSystem,
       R"({"type":"CONTEXT_UPDATED","contextId":"ctx-1","name":"Trip 2"})",
       {"contextId"}},
      {Protocol::kSystem, R"({"type":"CONTEXT_DELETED","contextId":"ctx-1"})", {"contextId"}},
      {Protocol::kSystem,
       R"({"type":"CONTEXTS_SNAPSHOT","contexts":[{"context_id":"ctx-1","name":"Trip",
           "created_at":"2026-11-24T09:46:11.123Z","updated_at":1764000000000,
           "message_count":3,"task_count":1}]})",
       {"contexts"}},
      {Protocol::kSystem, R"({"type":"CONNECTED","connectionId":"conn-1"})", {"connectionId"}},
      {Protocol::kSystem, R"({"type":"HEARTBEAT"})"},
  };
  return cases;
}

class EventValidationPerTypeTest : public testing::TestWithParam<TypeCase> {
 protected:
  Protocol protocol() const { return GetParam().protocol; }
  json::object Example() const { return Parse(GetParam().example); }
};

TEST_P(EventValidationPerTypeTest, ValidExamplePasses) {
  const auto error = ValidateEvent(protocol(), Example());
  EXPECT_FALSE(error) << error->field << ": " << error->message;
}

TEST_P(EventValidationPerTypeTest, MissingRequiredFieldIsNamed) {
  std::vector<std::string_view> fields = GetParam().required;
  fields.insert(fields.end(), GetParam().required_any.begin(), GetParam().required_any.end());
  for (const std::string_view field : fields) {
    json::object event = Example();
    event.erase(field);
    const auto error = ValidateEvent(protocol(), event);
    ASSERT_TRUE(error) << field;
    EXPECT_EQ(error->field, field);
    EXPECT_EQ(error->message, std::string(field) + " is required");
  }
}

TEST_P(EventValidationPerTypeTest, WrongJsonKindOfRequiredFieldIsNamed) {
  for (const std::string_view field : GetParam().required) {
    json::object event = Example();
    const bool is_bool = event.at(field).is_bool();
    event[field] = is_bool ? json::value("yes") : json::value(true);
    EXPECT_EQ(FieldOf(protocol(), event), field);
    const auto& nullable = GetParam().nullable;
    if (std::find(nullable.begin(), nullable.end(), field) != nullable.end()) continue;
    event[field] = nullptr;
    EXPECT_EQ(FieldOf(protocol(), event), field) << "null";
  }
}

TEST_P(EventValidationPerTypeTest, InvalidIdIsNamedWithoutEchoingIt) {
  for (const auto& member : Example()) {
    const std::string_view name{member.key().data(), member.key().size()};
    if (!IsIdName(name) || !member.value().is_string()) continue;
    for (const std::string& bad :
         {std::string(), std::string(257, 'a'), std::string("secret\nx")}) {
      json::object event = Example();
      event[name] = bad;
      const auto error = ValidateEvent(protocol(), event);
      ASSERT_TRUE(error) << name << " = " << bad;
      EXPECT_EQ(error->field, name);
      EXPECT_EQ(error->message.find("secret"), std::string::npos);
    }
  }
}

TEST_P(EventValidationPerTypeTest, UnknownExtraFieldsAreAllowed) {
  json::object event = Example();
  event["zzExtra"] = json::parse(R"({"nested":[1,null,"x"]})");
  event["anotherId"] = "";  // undeclared, so not held to the id rule
  EXPECT_EQ(FieldOf(protocol(), event), "<valid>");
}

TEST_P(EventValidationPerTypeTest, BadTimestampIsNamed) {
  for (const char* bad : {"true", "-1", "1.5", "9007199254740992", R"("yesterday")",
                          R"("2026-11-24")", "null", "[]"}) {
    json::object event = Example();
    event["timestamp"] = json::parse(bad);
    EXPECT_EQ(FieldOf(protocol(), event), "timestamp") << bad;
  }
}

TEST_P(EventValidationPerTypeTest, EpochMillisecondsAndRfc3339TimestampsPass) {
  for (const char* good : {"0", "1764000000000", "1764000000000.0", "9007199254740991",
                           R"("2026-11-24T09:46:11Z")", R"("2026-11-24T10:46:11.5+01:00")"}) {
    json::object event = Example();
    event["timestamp"] = json::parse(good);
    EXPECT_EQ(FieldOf(protocol(), event), "<valid>") << good;
  }
}

TEST_P(EventValidationPerTypeTest, TypeIsUnknownToOtherProtocols) {
  for (const Protocol other : {Protocol::kAgui, Protocol::kA2a, Protocol::kSystem}) {
    if (other == protocol()) continue;
    EXPECT_EQ(FieldOf(other, Example()), "type") << ProtocolName(other);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, EventValidationPerTypeTest, testing::ValuesIn(TypeCases()),
                         [](const testing::TestParamInfo<TypeCase>& info) {
                           return std::string(ProtocolName(info.param.protocol)) + "_" +
                                  info.param.Type();
                         });

TEST(EventValidationCatalogueTest, EveryTypeOfEveryProtocolHasACase) {
  // AG-UI 1.0 `EventType` (31 values), then spec §3.1's A2A and System lists.
  const std::set<std::string> expected = {"agui/TEXT_MESSAGE_START",
                                          "agui/TEXT_MESSAGE_CONTENT",
                                          "agui/TEXT_MESSAGE_END",
                                          "agui/TEXT_MESSAGE_CHUNK",
                                          "agui/TOOL_CALL_START",
                                          "agui/TOOL_CALL_ARGS",
                                          "agui/TOOL_CALL_END",
                                          "agui/TOOL_CALL_CHUNK",
                                          "agui/TOOL_CALL_RESULT",
                                          "agui/STATE_SNAPSHOT",
                                          "agui/STATE_DELTA",
                                          "agui/MESSAGES_SNAPSHOT",
                                          "agui/ACTIVITY_SNAPSHOT",
                                          "agui/ACTIVITY_DELTA",
                                          "agui/RAW",
                                          "agui/CUSTOM",
                                          "agui/RUN_STARTED",
                                          "agui/RUN_FINISHED",
                                          "agui/RUN_ERROR",
                                          "agui/STEP_STARTED",
                                          "agui/STEP_FINISHED",
                                          "agui/REASONING_START",
                                          "agui/REASONING_MESSAGE_START",
                                          "agui/REASONING_MESSAGE_CONTENT",
                                          "agui/REASONING_MESSAGE_END",
                                          "agui/REASONING_MESSAGE_CHUNK",
                                          "agui/REASONING_END",
                                          "agui/REASONING_ENCRYPTED_VALUE",
                                          "agui/SUBAGENT_STARTED",
                                          "agui/SUBAGENT_FINISHED",
                                          "agui/SUBAGENT_ERROR",
                                          "a2a/TASK_SUBMITTED",
                                          "a2a/TASK_STATUS_UPDATE",
                                          "a2a/ARTIFACT_CREATED",
                                          "a2a/ARTIFACT_UPDATED",
                                          "a2a/AGENT_MESSAGE",
                                          "a2a/INPUT_REQUIRED",
                                          "a2a/AUTH_REQUIRED",
                                          "a2a/JSON_RPC_RESPONSE",
                                          "a2a/JSON_RPC_ERROR",
                                          "system/CONTEXT_CREATED",
                                          "system/CONTEXT_UPDATED",
                                          "system/CONTEXT_DELETED",
                                          "system/CONTEXTS_SNAPSHOT",
                                          "system/CONNECTED",
                                          "system/HEARTBEAT"};
  std::set<std::string> covered;
  for (const TypeCase& type_case : TypeCases()) {
    covered.insert(std::string(ProtocolName(type_case.protocol)) + "/" + type_case.Type());
  }
  EXPECT_EQ(covered, expected);
  EXPECT_EQ(TypeCases().size(), expected.size());
}

// ---- type
// ----------------------------------------------------------------------------------------

TEST(EventValidationTypeFieldTest, MissingTypeIsNamed) {
  const auto error = ValidateEvent(Protocol::kAgui, Parse(R"({"messageId":"m1"})"));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->field, "type");
  EXPECT_EQ(error->message, "type is required");
}

TEST(EventValidationTypeFieldTest, TypeThatIsNotAStringIsNamed) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":5})"), "type");
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":null})"), "type");
  EXPECT_EQ(FieldOf(Protocol::kSystem, R"({"type":["HEARTBEAT"]})"), "type");
}

TEST(EventValidationTypeFieldTest, UnknownTypeIsNamedWithoutEchoingIt) {
  const auto error = ValidateEvent(Protocol::kAgui, Parse(R"({"type":"NOT_A_TYPE_secret"})"));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->field, "type");
  EXPECT_EQ(error->message.find("secret"), std::string::npos);
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":""})"), "type");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"text_message_end","messageId":"m"})"), "type");
}

TEST(EventValidationTypeFieldTest, RetiredThinkingTypesAreUnknownInAgui10) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"THINKING_START"})"), "type");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"THINKING_TEXT_MESSAGE_CONTENT","delta":"x"})"),
            "type");
}

// ---- AG-UI specifics
// -----------------------------------------------------------------------------

TEST(AguiValidationTest, EmptyDeltaIsAcceptedAsInAgui10) {
  EXPECT_EQ(
      FieldOf(Protocol::kAgui, R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":""})"),
      "<valid>");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"TOOL_CALL_ARGS","toolCallId":"t","delta":""})"),
            "<valid>");
}

TEST(AguiValidationTest, RolesAreCheckedAgainstTheirEnums) {
  EXPECT_EQ(
      FieldOf(Protocol::kAgui, R"({"type":"TEXT_MESSAGE_START","messageId":"m","role":"tool"})"),
      "role");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"TEXT_MESSAGE_CHUNK","role":"robot"})"), "role");
  EXPECT_EQ(FieldOf(Protocol::kAgui,
                    R"({"type":"REASONING_MESSAGE_START","messageId":"m","role":"assistant"})"),
            "role");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"TOOL_CALL_RESULT","messageId":"m",
                                         "toolCallId":"t","content":"x","role":"user"})"),
            "role");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"REASONING_ENCRYPTED_VALUE","subtype":"tool",
                                         "entityId":"t","encryptedValue":"x"})"),
            "subtype");
}

TEST(AguiValidationTest, OptionalFieldsMayNotBeNull) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"TOOL_CALL_START","toolCallId":"t",
                                         "toolCallName":"f","parentMessageId":null})"),
            "parentMessageId");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"RUN_ERROR","message":"m","code":null})"), "code");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"STEP_STARTED","stepName":"s","rawEvent":null})"),
            "rawEvent");
}

TEST(AguiValidationTest, AnyValuedRequiredFieldsAcceptNull) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"CUSTOM","name":"n","value":null})"), "<valid>");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"STATE_SNAPSHOT","snapshot":null})"), "<valid>");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"RAW","event":"text"})"), "<valid>");
}

TEST(AguiValidationTest, MetadataMustBeAnObject) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"STEP_STARTED","stepName":"s","metadata":[]})"),
            "metadata");
  EXPECT_EQ(
      FieldOf(Protocol::kAgui, R"({"type":"STEP_STARTED","stepName":"s","metadata":{"k":null}})"),
      "<valid>");
}

TEST(AguiValidationTest, SubagentRunIdIsCheckedOnlyWhereDeclared) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"TEXT_MESSAGE_END","messageId":"m",
                                         "subagentRunId":5})"),
            "subagentRunId");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"TEXT_MESSAGE_END","messageId":"m",
                                         "subagentRunId":""})"),
            "subagentRunId");
  // Run-scoped events do not declare it, so it is an unknown extra field there.
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"RUN_STARTED","threadId":"t","runId":"r",
                                         "subagentRunId":5})"),
            "<valid>");
}

TEST(AguiValidationTest, JsonPatchOperationsAreChecked) {
  const auto field_of = [](std::string_view delta) {
    return FieldOf(Protocol::kAgui, R"({"type":"STATE_DELTA","delta":)" + std::string(delta) + "}");
  };
  EXPECT_EQ(field_of("{}"), "delta");
  EXPECT_EQ(field_of("[]"), "<valid>");
  EXPECT_EQ(field_of("[5]"), "delta[0]");
  EXPECT_EQ(field_of(R"([{"op":"frobnicate","path":"/a"}])"), "delta[0].op");
  EXPECT_EQ(field_of(R"([{"path":"/a"}])"), "delta[0].op");
  EXPECT_EQ(field_of(R"([{"op":"remove","path":"a"}])"), "delta[0].path");
  EXPECT_EQ(field_of(R"([{"op":"remove","path":"/a~2"}])"), "delta[0].path");
  EXPECT_EQ(field_of(R"([{"op":"remove","path":""},{"op":"add","path":"/a"}])"), "delta[1].value");
  EXPECT_EQ(field_of(R"([{"op":"move","path":"/a"}])"), "delta[0].from");
  EXPECT_EQ(field_of(R"([{"op":"add","path":"/a~1b","value":null},{"op":"remove","path":"/x",
                         "value":1}])"),
            "<valid>");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"ACTIVITY_DELTA","messageId":"a",
                                         "activityType":"PLAN","patch":[{"op":"test"}]})"),
            "patch[0].path");
}

TEST(AguiValidationTest, SnapshotMessagesAreCheckedByRole) {
  const auto field_of = [](std::string_view messages) {
    return FieldOf(Protocol::kAgui,
                   R"({"type":"MESSAGES_SNAPSHOT","messages":)" + std::string(messages) + "}");
  };
  EXPECT_EQ(field_of(R"([{"id":"m","role":"user","content":"hi"},{"id":"n","role":"bot"}])"),
            "messages[1].role");
  EXPECT_EQ(field_of(R"([{"id":"m","role":"user"}])"), "messages[0].content");
  EXPECT_EQ(field_of(R"([{"role":"system","content":"x"}])"), "messages[0].id");
  EXPECT_EQ(field_of(R"([{"id":"","role":"system","content":"x"}])"), "messages[0].id");
  EXPECT_EQ(field_of(R"([{"id":"m","role":"tool","content":"x"}])"), "messages[0].toolCallId");
  EXPECT_EQ(field_of(R"([{"id":"m","role":"activity","activityType":"A","content":"x"}])"),
            "messages[0].content");
  EXPECT_EQ(field_of(R"([{"id":"m","role":"assistant","toolCalls":[{"id":"c","type":"function",
                         "function":{"name":"f"}}]}])"),
            "messages[0].toolCalls[0].function.arguments");
  EXPECT_EQ(field_of(R"([{"id":"m","role":"user","content":[{"type":"text","text":"a"},
                         {"type":"image","source":{"type":"data","value":"AA=="}}]}])"),
            "messages[0].content[1].source.mimeType");
  EXPECT_EQ(field_of(R"([{"id":"m","role":"user","content":[{"type":"image","source":
                         {"type":"url","value":"https://x/y.png"}}]},
                         {"id":"r","role":"reasoning","content":"because"},
                         {"id":"d","role":"developer","content":"be brief"},
                         {"id":"t","role":"tool","content":[],"toolCallId":"c","error":"e"}])"),
            "<valid>");
}

TEST(AguiValidationTest, ToolResultContentIsTextOrParts) {
  const auto field_of = [](std::string_view content) {
    return FieldOf(Protocol::kAgui, R"({"type":"TOOL_CALL_RESULT","messageId":"m",
                                        "toolCallId":"t","content":)" +
                                        std::string(content) + "}");
  };
  EXPECT_EQ(field_of(R"([{"type":"document","source":{"type":"file","value":"file-1"}}])"),
            "<valid>");
  EXPECT_EQ(field_of(R"({"text":"x"})"), "content");
  EXPECT_EQ(field_of(R"([{"type":"binary","mimeType":"x"}])"), "content[0].type");
}

TEST(AguiValidationTest, RunInputOutcomeAndUsageAreChecked) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"RUN_STARTED","threadId":"t","runId":"r",
                                         "input":{"threadId":"t","runId":"r"}})"),
            "input.messages");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"RUN_STARTED","threadId":"t","runId":"r",
                                         "input":{"threadId":"t","runId":"r","messages":[],
                                         "tools":[{"name":"f","description":"d"}],
                                         "resume":[{"interruptId":"i","status":"resolved"}]}})"),
            "<valid>");
  const auto finished = [](std::string_view extra) {
    return FieldOf(Protocol::kAgui, R"({"type":"RUN_FINISHED","threadId":"t","runId":"r",)" +
                                        std::string(extra) + "}");
  };
  EXPECT_EQ(finished(R"("outcome":{"type":"interrupt","interrupts":[]})"), "outcome.interrupts");
  EXPECT_EQ(finished(R"("outcome":{"type":"interrupt","interrupts":[{"id":"i"}]})"),
            "outcome.interrupts[0].reason");
  EXPECT_EQ(finished(R"("outcome":{"type":"paused"})"), "outcome.type");
  EXPECT_EQ(finished(R"("outcome":null)"), "outcome");
  EXPECT_EQ(finished(R"("result":null)"), "result");
  EXPECT_EQ(finished(R"("usage":[{"inputTokens":-1}])"), "usage[0].inputTokens");
  EXPECT_EQ(finished(R"("usage":[{"model":"m","inputTokens":10,"outputTokens":2.0}],
                       "outcome":{"type":"cancelled"},"result":[1])"),
            "<valid>");
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"SUBAGENT_FINISHED","subagentRunId":"s",
                                         "outcome":{"type":"suspended","interruptIds":[""]}})"),
            "outcome.interruptIds[0]");
}

TEST(AguiValidationTest, ActivityContentMustBeAnObject) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"ACTIVITY_SNAPSHOT","messageId":"a",
                                         "activityType":"PLAN","content":[]})"),
            "content");
}

// ---- A2A and System specifics
// ---------------------------------------------------------------------

TEST(A2aValidationTest, TaskStateMustBeAListedState) {
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"TASK_STATUS_UPDATE","taskId":"t","contextId":"c",
                                        "state":"TASK_STATE_SLEEPING"})"),
            "state");
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"TASK_STATUS_UPDATE","taskId":"t","contextId":"c",
                                        "state":"TASK_STATE_AUTH_REQUIRED"})"),
            "<valid>");
}

TEST(A2aValidationTest, PayloadsAreTextOrObjects) {
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"AGENT_MESSAGE","taskId":"t","contextId":"c",
                                        "messageId":"m","content":{"parts":[]}})"),
            "<valid>");
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"AGENT_MESSAGE","taskId":"t","contextId":"c",
                                        "messageId":"m","content":12})"),
            "content");
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"TASK_SUBMITTED","taskId":"t","contextId":"c",
                                        "agentName":"a","input":[]})"),
            "input");
}

TEST(A2aValidationTest, JsonRpcIdsAndCodes) {
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"JSON_RPC_ERROR","id":null,"code":-32700,
                                        "message":"Parse error"})"),
            "<valid>");
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"JSON_RPC_ERROR","id":1,"code":1.5,
                                        "message":"x"})"),
            "code");
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"JSON_RPC_RESPONSE","id":null,"result":1})"), "id");
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"JSON_RPC_RESPONSE","id":3,"result":null})"),
            "<valid>");
}

TEST(SystemValidationTest, ContextsSnapshotEntriesAreChecked) {
  const std::string entry =
      R"({"context_id":"c","name":"n","created_at":0,"updated_at":0,"message_count":0,
          "task_count":0})";
  const auto field_of = [&](std::string_view last) {
    return FieldOf(Protocol::kSystem, R"({"type":"CONTEXTS_SNAPSHOT","contexts":[)" + entry + "," +
                                          entry + "," + std::string(last) + "]}");
  };
  EXPECT_EQ(field_of(entry), "<valid>");
  EXPECT_EQ(field_of(R"({"context_id":"c","created_at":0,"updated_at":0,"message_count":0,
                         "task_count":0})"),
            "contexts[2].name");
  EXPECT_EQ(field_of(R"({"context_id":"c","name":"n","created_at":"noon","updated_at":0,
                         "message_count":0,"task_count":0})"),
            "contexts[2].created_at");
  EXPECT_EQ(field_of(R"({"context_id":"c","name":"n","created_at":0,"updated_at":0,
                         "message_count":-2,"task_count":0})"),
            "contexts[2].message_count");
  EXPECT_EQ(field_of(R"({"context_id":"a\u0001","name":"n","created_at":0,"updated_at":0,
                         "message_count":0,"task_count":0})"),
            "contexts[2].context_id");
  EXPECT_EQ(field_of("7"), "contexts[2]");
}

TEST(SystemValidationTest, ConnectionIdIsAnIdOrANonNegativeInteger) {
  EXPECT_EQ(FieldOf(Protocol::kSystem, R"({"type":"CONNECTED","connectionId":42})"), "<valid>");
  EXPECT_EQ(FieldOf(Protocol::kSystem, R"({"type":"CONNECTED","connectionId":-1})"),
            "connectionId");
}

// ---- nesting depth
// -------------------------------------------------------------------------------

// {"type":"CUSTOM","name":"n","value":[[…]]} where the event object is level 1.
json::object NestedCustom(std::size_t levels) {
  json::value value = json::array();
  for (std::size_t level = 3; level <= levels; ++level) {
    json::array outer;
    outer.push_back(std::move(value));
    value = std::move(outer);
  }
  json::object event = Parse(R"({"type":"CUSTOM","name":"n"})");
  event["value"] = std::move(value);
  return event;
}

TEST(EventValidationDepthTest, NestingUpToTheLimitIsAccepted) {
  EXPECT_EQ(FieldOf(Protocol::kAgui, NestedCustom(kMaxJsonDepth)), "<valid>");
}

TEST(EventValidationDepthTest, NestingOverTheLimitNamesTheTopLevelField) {
  const auto error = ValidateEvent(Protocol::kAgui, NestedCustom(kMaxJsonDepth + 1));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->field, "value");
  EXPECT_NE(error->message.find("64"), std::string::npos);
}

// A number beyond a double's range parses as ±infinity, which no JSON encoder can write back
// (JSON.parse would reject the delivered frame): refused, naming where it is.
TEST(EventValidationNumbersTest, NonFiniteNumbersAreRefusedWithTheirPath) {
  for (std::string_view number : {"1e400", "-1e400", "1e999999", "-1E+309"}) {
    const std::string text = std::string(R"({"type":"CUSTOM","name":"n","value":{"a":[1,{"b":)") +
                             std::string(number) + "}]}}";
    for (ValidationMode mode : {ValidationMode::kStrict, ValidationMode::kCompatible}) {
      const auto error = ValidateEvent(Protocol::kAgui, Parse(text), mode);
      ASSERT_TRUE(error) << number;
      EXPECT_EQ(error->field, "value.a[1].b") << number;
      EXPECT_EQ(error->message,
                "value.a[1].b must be a finite number (at most about 1.8e308 in magnitude)");
    }
  }
  EXPECT_EQ(FieldOf(Protocol::kAgui, R"({"type":"STEP_STARTED","stepName":"s","timestamp":1e400})"),
            "timestamp");
  EXPECT_EQ(FieldOf(Protocol::kA2a, R"({"type":"JSON_RPC_RESPONSE","id":1,"result":[-1e400]})"),
            "result[0]");
  // The largest doubles and the smallest are fine.
  EXPECT_EQ(
      FieldOf(Protocol::kAgui, R"({"type":"CUSTOM","name":"n","value":[1.7976931348623157e308,)"
                               R"(-1.7976931348623157e308,5e-324,1e-400]})"),
      "<valid>");
}

// ---- AddTimestampIfAbsent
// -------------------------------------------------------------------------

const auto kNow = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764000000123));

class EventValidationAddTimestampTest : public testing::TestWithParam<Protocol> {};

TEST_P(EventValidationAddTimestampTest, AbsentTimestampGetsNowInTheProtocolsFormat) {
  json::object event = Parse(R"({"type":"X"})");
  AddTimestampIfAbsent(GetParam(), event, kNow);
  const json::value& timestamp = event.at("timestamp");
  if (GetParam() == Protocol::kAgui) {
    ASSERT_TRUE(timestamp.is_int64());
    EXPECT_EQ(timestamp.get_int64(), 1764000000123);
  } else {
    ASSERT_TRUE(timestamp.is_string());
    EXPECT_EQ(timestamp.get_string(), "2025-11-24T16:00:00.123Z");
    EXPECT_EQ(timestamp.get_string(), FormatRfc3339(kNow));
  }
}

TEST_P(EventValidationAddTimestampTest, ExistingTimestampIsLeftAlone) {
  for (const char* existing : {"5", R"("2020-01-01T00:00:00Z")", "null"}) {
    json::object event = Parse(R"({"type":"X"})");
    event["timestamp"] = json::parse(existing);
    AddTimestampIfAbsent(GetParam(), event, kNow);
    EXPECT_EQ(event.at("timestamp"), json::parse(existing));
    EXPECT_EQ(event.size(), 2u);
  }
}

TEST_P(EventValidationAddTimestampTest, AddedTimestampValidates) {
  for (const TypeCase& type_case : TypeCases()) {
    if (type_case.protocol != GetParam()) continue;
    json::object event = Parse(type_case.example);
    AddTimestampIfAbsent(GetParam(), event, kNow);
    EXPECT_EQ(FieldOf(GetParam(), event), "<valid>") << type_case.Type();
  }
}

INSTANTIATE_TEST_SUITE_P(AllProtocols, EventValidationAddTimestampTest,
                         testing::Values(Protocol::kAgui, Protocol::kA2a, Protocol::kSystem),
                         [](const testing::TestParamInfo<Protocol>& info) {
                           return std::string(ProtocolName(info.param));
                         });

// --validation compatible widens exactly what the original's types allow, nothing more.
std::string CompatibleFieldOf(Protocol protocol, std::string_view text) {
  const auto error = ValidateEvent(protocol, Parse(text), ValidationMode::kCompatible);
  return error ? error->field : "<valid>";
}

TEST(CompatibleValidationTest, ToolCallResultContentMayBeAnyJsonButMustBePresent) {
  for (std::string_view content : {R"({"a":1})", "[1]", "7", "true", "null", R"("s")"}) {
    EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui,
                                std::string(R"({"type":"TOOL_CALL_RESULT","messageId":"m",)") +
                                    R"("toolCallId":"t","content":)" + std::string(content) + "}"),
              "<valid>")
        << content;
  }
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui,
                              R"({"type":"TOOL_CALL_RESULT","messageId":"m","toolCallId":"t"})"),
            "content");
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui, R"({"type":"TOOL_CALL_RESULT","messageId":"m",)"
                                               R"("toolCallId":"t","content":"c","role":"bot"})"),
            "role");
}

TEST(CompatibleValidationTest, TaskStatesAcceptBothSpellingsAndNothingElse) {
  const auto update = [](std::string_view state) {
    return std::string(R"({"type":"TASK_STATUS_UPDATE","taskId":"t","contextId":"c","state":")") +
           std::string(state) + "\"}";
  };
  for (std::string_view state :
       {"submitted", "working", "input-required", "auth-required", "completed", "canceled",
        "failed", "rejected", "unknown", "pending", "TASK_STATE_COMPLETED"}) {
    EXPECT_EQ(CompatibleFieldOf(Protocol::kA2a, update(state)), "<valid>") << state;
  }
  for (std::string_view state : {"done", "COMPLETED", "input_required", "Completed", ""}) {
    EXPECT_EQ(CompatibleFieldOf(Protocol::kA2a, update(state)), "state") << state;
    EXPECT_EQ(FieldOf(Protocol::kA2a, update(state)), "state") << state;
  }
  EXPECT_EQ(FieldOf(Protocol::kA2a, update("completed")), "state") << "strict: A2A 1.0 only";
}

TEST(CompatibleValidationTest, NullCountsAsAbsentOnlyForOptionalFields) {
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui, R"({"type":"TOOL_CALL_START","toolCallId":"t",)"
                                               R"("toolCallName":"n","parentMessageId":null})"),
            "<valid>");
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui,
                              R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":null})"),
            "delta");
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui, R"({"type":"TOOL_CALL_START","toolCallId":null,)"
                                               R"("toolCallName":"n"})"),
            "toolCallId");
  // Nested optional fields too; nested required ones still count.
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui, R"({"type":"STATE_DELTA","delta":[{"op":"add",)"
                                               R"("path":"/a","value":1}],"rawEvent":null})"),
            "<valid>");
  EXPECT_EQ(
      CompatibleFieldOf(Protocol::kAgui,
                        R"({"type":"STATE_DELTA","delta":[{"op":"add","path":null,"value":1}]})"),
      "delta[0].path");
}

TEST(CompatibleValidationTest, EverythingElseIsCheckedAsInStrictMode) {
  // Ids, timestamps, unknown types and the other types' fields are unchanged.
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui, R"({"type":"TEXT_MESSAGE_END","messageId":""})"),
            "messageId");
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui, R"({"type":"CUSTOM","name":"n","value":1,)"
                                               R"("timestamp":"yesterday"})"),
            "timestamp");
  EXPECT_EQ(CompatibleFieldOf(Protocol::kAgui, R"({"type":"THINKING_START"})"), "type");
  EXPECT_EQ(CompatibleFieldOf(Protocol::kA2a, R"({"type":"ARTIFACT_CREATED","taskId":"t",)"
                                              R"("contextId":"c","artifact":"a"})"),
            "artifact");
}

}  // namespace
}  // namespace herald
