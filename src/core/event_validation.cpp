// Event validation: one static table per protocol (type -> fields), walked by a small generic
// checker. Nested shapes are tables too, so the checker's recursion is bounded by the tables, not
// by the input; the input's own depth is checked iteratively.
//
// AG-UI source followed: AG-UI 1.0, the version @ag-ui/core 1.0.x implements. Read in
// ag-ui-protocol/ag-ui: the JSON Schema `docs/spec/1.1/schema.json` (commit ac097900; 1.1 only
// adds the optional `encryptedValueType`, undeclared here, so it passes as an unknown field), the
// zod validators generated from the schema, `sdks/typescript/packages/core/src/generated/
// schemas.ts` (commit 285522fe; @ag-ui/core 1.0.0's CHANGELOG: "validators moved to
// @ag-ui/core/schemas"), the fixtures in `spec/1.1/fixtures/MANIFEST.txt` and
// `spec/RECONCILIATION.md`. The hand-written 0.0.x `events.ts` is superseded; the differences that
// change verdicts:
// * TEXT_MESSAGE_CONTENT (and every other) `delta` may be the empty string. The 0.0.x
//   `refine(s => s.length > 0)` is gone: 1.0 says empty deltas are keep-alives.
// * THINKING_* are retired in favour of REASONING_*; SUBAGENT_* use `subagentRunId` (0.0.x drafts
//   used `subagentId`). Unknown type -> rejected.
// * STATE_SNAPSHOT.snapshot, RAW.event and CUSTOM.value are required (any JSON value, null
//   included); rawEvent, result, forwardedProps, payload, parameters may not be null.
// * Optional fields may not be null (e.g. TOOL_CALL_START.parentMessageId: null is rejected).
// Deliberate hub differences (spec §3.1/§3.2): ids must pass IsValidClientId (AG-UI accepts any
// string, even empty); `timestamp` may also be an RFC 3339 string, and must be >= 0.
// Not checked: sequence rules (ordering, chunk-opening rules, ids matching across events), which
// no per-event validator can see; RunAgentInput.state (zod accepts null there, the schema not).
#include "core/event_validation.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/time_format.h"

namespace herald {
namespace {

namespace json = boost::json;
using Error = std::optional<ValidationError>;

// The JSON kinds a field accepts, as a bit set. A number with an integral value in the
// JavaScript safe range is an integer however it is spelt ("5", "5.0", "5e0"), as in zod.
using Kinds = std::uint8_t;
constexpr Kinds kNull = 1, kBool = 2, kInteger = 4, kFraction = 8, kString = 16, kArray = 32,
                kObject = 64;
constexpr Kinds kAnyValue = 127;
constexpr Kinds kNotNull = kAnyValue & ~kNull;
constexpr Kinds kText = kString | kObject;  // A2A payloads: plain text or a message object

constexpr std::int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1

// Further rules on a value of an accepted kind. Ids need no flag: they are named `id`, `…Id`
// or `…_id` (and lists of them `…Ids`), and the name decides.
using Rules = std::uint8_t;
constexpr Rules kCount = 1;     // integer in [0, 2^53 - 1]
constexpr Rules kTime = 2;      // timestamp: epoch ms in [0, 2^53 - 1] or RFC 3339 string
constexpr Rules kPointer = 4;   // RFC 6901 JSON Pointer
constexpr Rules kNonEmpty = 8;  // array with at least one item

struct Shape;

struct Field {
  std::string_view name;
  Kinds kinds = 0;
  bool required = true;
  Rules rules = 0;
  std::span<const std::string_view> one_of = {};  // allowed values of a string
  Kinds item_kinds = 0;                           // kinds each array item must have (0: any)
  const Shape* shape = nullptr;                   // an object value, or each object item

  // Defined before its callers: clang 14 does not instantiate a later-defined member template
  // in time for a constant expression.
  template <class T>
  constexpr Field Set(T Field::*member, T value) const {
    Field copy = *this;
    copy.*member = value;
    return copy;
  }

  constexpr Field With(Rules more) const { return Set(&Field::rules, Rules(rules | more)); }
  constexpr Field OneOf(std::span<const std::string_view> values) const {
    return Set(&Field::one_of, values);
  }
  constexpr Field Matching(const Shape* object_shape) const {
    return Set(&Field::shape, object_shape);
  }
  constexpr Field Items(Kinds kinds_of_items, const Shape* item_shape = nullptr) const {
    return Set(&Field::item_kinds, kinds_of_items).Matching(item_shape);
  }
};

// One arm of a discriminated union: the fields that apply when the tag has this value.
struct Variant {
  std::string_view tag;
  std::span<const Field> fields;
};

// An object: common fields, and optionally a tag member choosing one variant's fields.
struct Shape {
  std::span<const Field> fields;
  std::string_view tag = {};
  std::span<const Variant> variants = {};
};

struct EventSpec {
  std::string_view type;
  std::span<const Field> fields;
  bool attributable = false;  // AG-UI: carries the optional subagentRunId
};

constexpr Field Req(std::string_view name, Kinds kinds) {
  Field field;
  field.name = name;
  field.kinds = kinds;
  return field;
}
constexpr Field Opt(std::string_view name, Kinds kinds) {
  Field field = Req(name, kinds);
  field.required = false;
  return field;
}
constexpr Field Str(std::string_view name) { return Req(name, kString); }
constexpr Field OptStr(std::string_view name) { return Opt(name, kString); }
constexpr Field Count(std::string_view name) { return Req(name, kInteger).With(kCount); }
constexpr Field OptCount(std::string_view name) { return Opt(name, kInteger).With(kCount); }

// ---- AG-UI 1.0 building blocks -----------------------------------------------------------------

// JSON Patch (RFC 6902), discriminated by "op". Extra members are allowed, as the RFC requires.
constexpr Field kPatchPath[] = {Str("path").With(kPointer)};
constexpr Field kPatchValue[] = {Str("path").With(kPointer), Req("value", kAnyValue)};
constexpr Field kPatchFrom[] = {Str("from").With(kPointer), Str("path").With(kPointer)};
constexpr Variant kPatchOps[] = {{"add", kPatchValue},     {"remove", kPatchPath},
                                 {"replace", kPatchValue}, {"move", kPatchFrom},
                                 {"copy", kPatchFrom},     {"test", kPatchValue}};
constexpr Shape kPatchOp{{}, "op", kPatchOps};
constexpr Field JsonPatch(std::string_view name) {
  return Req(name, kArray).Items(kObject, &kPatchOp);
}

// Content parts of user and tool messages, discriminated by "type".
constexpr Field kDataSource[] = {Str("value"), Str("mimeType")};
constexpr Field kUrlSource[] = {Str("value"), OptStr("mimeType")};
constexpr Field kFileSource[] = {Str("value"), OptStr("provider"), OptStr("mimeType")};
constexpr Variant kSources[] = {{"data", kDataSource}, {"url", kUrlSource}, {"file", kFileSource}};
constexpr Shape kPartSource{{}, "type", kSources};
constexpr Field kPartCommon[] = {OptStr("id"), Opt("metadata", kNotNull)};
constexpr Field kTextPart[] = {Str("text")};
constexpr Field kMediaPart[] = {Req("source", kObject).Matching(&kPartSource)};
constexpr Variant kParts[] = {{"text", kTextPart},
                              {"image", kMediaPart},
                              {"audio", kMediaPart},
                              {"video", kMediaPart},
                              {"document", kMediaPart}};
constexpr Shape kContentPart{kPartCommon, "type", kParts};
constexpr Field Content() { return Req("content", kString | kArray).Items(kObject, &kContentPart); }

// Messages, discriminated by "role".
constexpr std::string_view kFunction[] = {"function"};
constexpr Field kFunctionCall[] = {Str("name"), Str("arguments")};
constexpr Shape kFunctionCallShape{kFunctionCall};
constexpr Field kToolCall[] = {Str("id"), Str("type").OneOf(kFunction),
                               Req("function", kObject).Matching(&kFunctionCallShape),
                               OptStr("encryptedValue"), Opt("metadata", kObject)};
constexpr Shape kToolCallShape{kToolCall};
constexpr Field kMessageCommon[] = {Str("id"), OptStr("subagentRunId"), Opt("metadata", kObject)};
constexpr Field kInstructionMessage[] = {OptStr("name"), OptStr("encryptedValue"), Str("content")};
constexpr Field kAssistantMessage[] = {OptStr("name"), OptStr("encryptedValue"), OptStr("content"),
                                       Opt("toolCalls", kArray).Items(kObject, &kToolCallShape)};
constexpr Field kUserMessage[] = {OptStr("name"), OptStr("encryptedValue"), Content()};
constexpr Field kToolMessage[] = {Content(), Str("toolCallId"), OptStr("error"),
                                  OptStr("encryptedValue")};
constexpr Field kActivityMessage[] = {Str("activityType"), Req("content", kObject)};
constexpr Field kReasoningMessage[] = {Str("content"), OptStr("encryptedValue")};
constexpr Variant kRoles[] = {{"developer", kInstructionMessage},
                              {"system", kInstructionMessage},
                              {"assistant", kAssistantMessage},
                              {"user", kUserMessage},
                              {"tool", kToolMessage},
                              {"activity", kActivityMessage},
                              {"reasoning", kReasoningMessage}};
constexpr Shape kMessage{kMessageCommon, "role", kRoles};
constexpr Field Messages() { return Req("messages", kArray).Items(kObject, &kMessage); }

// Run input (RUN_STARTED.input), outcomes and token usage.
constexpr std::string_view kResumeStatuses[] = {"resolved", "cancelled"};
constexpr Field kTool[] = {Str("name"), Str("description"), Opt("parameters", kNotNull),
                           Opt("metadata", kObject)};
constexpr Field kContext[] = {Str("description"), Str("value")};
constexpr Field kResumeEntry[] = {Str("interruptId"), Str("status").OneOf(kResumeStatuses),
                                  Opt("payload", kNotNull), Opt("metadata", kObject)};
constexpr Shape kToolShape{kTool}, kContextShape{kContext}, kResumeShape{kResumeEntry};
constexpr Field kRunAgentInput[] = {Str("threadId"),
                                    Str("runId"),
                                    OptStr("protocolVersion"),
                                    OptStr("parentRunId"),
                                    Messages(),
                                    Opt("tools", kArray).Items(kObject, &kToolShape),
                                    Opt("context", kArray).Items(kObject, &kContextShape),
                                    Opt("forwardedProps", kNotNull),
                                    Opt("resume", kArray).Items(kObject, &kResumeShape)};
constexpr Shape kRunAgentInputShape{kRunAgentInput};

constexpr Field kInterrupt[] = {Str("id"),
                                Str("reason"),
                                OptStr("message"),
                                OptStr("toolCallId"),
                                Opt("responseSchema", kObject),
                                OptStr("expiresAt"),
                                Opt("metadata", kObject),
                                OptStr("subagentRunId")};
constexpr Shape kInterruptShape{kInterrupt};
constexpr Field kRunSuccess[] = {Opt("pendingToolCallIds", kArray).Items(kString)};
constexpr Field kRunInterrupt[] = {
    Req("interrupts", kArray).Items(kObject, &kInterruptShape).With(kNonEmpty)};
constexpr Variant kRunOutcomes[] = {
    {"success", kRunSuccess}, {"interrupt", kRunInterrupt}, {"cancelled", {}}};
constexpr Shape kRunOutcome{{}, "type", kRunOutcomes};
constexpr Field kSubagentSuspended[] = {Opt("interruptIds", kArray).Items(kString)};
constexpr Variant kSubagentOutcomes[] = {{"success", {}}, {"suspended", kSubagentSuspended}};
constexpr Shape kSubagentOutcome{{}, "type", kSubagentOutcomes};

constexpr Field kTokenUsage[] = {OptStr("provider"),
                                 OptStr("model"),
                                 OptCount("inputTokens"),
                                 OptCount("outputTokens"),
                                 OptCount("totalTokens"),
                                 OptCount("reasoningTokens"),
                                 OptCount("cachedInputTokens"),
                                 OptCount("cacheWriteInputTokens")};
constexpr Shape kTokenUsageShape{kTokenUsage};
constexpr Field Usage() { return Opt("usage", kArray).Items(kObject, &kTokenUsageShape); }

// ---- AG-UI 1.0 events ---------------------------------------------------------------------------

constexpr Field kAguiBase[] = {Opt("rawEvent", kNotNull), Opt("metadata", kObject)};
constexpr Field kAttributable[] = {OptStr("subagentRunId")};

constexpr std::string_view kTextRoles[] = {"developer", "system", "assistant", "user"};
constexpr std::string_view kToolRole[] = {"tool"};
constexpr std::string_view kReasoningRole[] = {"reasoning"};
constexpr std::string_view kEncryptedSubtypes[] = {"tool-call", "message"};

constexpr Field kMessageId[] = {Str("messageId")};
constexpr Field kTextMessageStart[] = {Str("messageId"), OptStr("role").OneOf(kTextRoles),
                                       OptStr("name")};
constexpr Field kMessageDelta[] = {Str("messageId"), Str("delta")};
constexpr Field kTextMessageChunk[] = {OptStr("messageId"), OptStr("role").OneOf(kTextRoles),
                                       OptStr("delta"), OptStr("name")};
constexpr Field kToolCallStart[] = {Str("toolCallId"), Str("toolCallName"),
                                    OptStr("parentMessageId")};
constexpr Field kToolCallArgs[] = {Str("toolCallId"), Str("delta")};
constexpr Field kToolCallEnd[] = {Str("toolCallId")};
constexpr Field kToolCallChunk[] = {OptStr("toolCallId"), OptStr("toolCallName"),
                                    OptStr("parentMessageId"), OptStr("delta")};
constexpr Field kToolCallResult[] = {Str("messageId"), Str("toolCallId"), Content(),
                                     OptStr("role").OneOf(kToolRole)};
constexpr Field kStateSnapshot[] = {Req("snapshot", kAnyValue)};
constexpr Field kStateDelta[] = {JsonPatch("delta")};
constexpr Field kMessagesSnapshot[] = {Messages()};
constexpr Field kActivitySnapshot[] = {Str("messageId"), Str("activityType"),
                                       Req("content", kObject), Opt("replace", kBool)};
constexpr Field kActivityDelta[] = {Str("messageId"), Str("activityType"), JsonPatch("patch")};
constexpr Field kRaw[] = {Req("event", kAnyValue), OptStr("source")};
constexpr Field kCustom[] = {Str("name"), Req("value", kAnyValue)};
constexpr Field kRunStarted[] = {Str("threadId"), Str("runId"), OptStr("protocolVersion"),
                                 OptStr("parentRunId"),
                                 Opt("input", kObject).Matching(&kRunAgentInputShape)};
constexpr Field kRunFinished[] = {Str("threadId"), Str("runId"), Opt("result", kNotNull),
                                  Opt("outcome", kObject).Matching(&kRunOutcome), Usage()};
constexpr Field kRunError[] = {Str("message"), OptStr("code"), Usage()};
constexpr Field kStep[] = {Str("stepName")};
constexpr Field kReasoningMessageStart[] = {Str("messageId"), Str("role").OneOf(kReasoningRole)};
constexpr Field kReasoningMessageChunk[] = {OptStr("messageId"), OptStr("delta")};
constexpr Field kReasoningEncryptedValue[] = {Str("subtype").OneOf(kEncryptedSubtypes),
                                              Str("entityId"), Str("encryptedValue")};
constexpr Field kSubagentStarted[] = {Str("subagentRunId"),       Str("name"),
                                      OptStr("description"),      OptStr("parentSubagentRunId"),
                                      OptStr("parentToolCallId"), OptStr("parentMessageId")};
constexpr Field kSubagentFinished[] = {Str("subagentRunId"), Opt("result", kNotNull),
                                       Opt("outcome", kObject).Matching(&kSubagentOutcome)};
constexpr Field kSubagentError[] = {Str("subagentRunId"), Str("message"), OptStr("code")};

// Compatible mode (--validation compatible): what the original system's back-end publishes,
// where its types are looser than AG-UI 1.0 (docs/MIGRATING.md). Each entry replaces the strict
// one of the same type; optional fields may also be null (its serialiser writes absent options as
// null), checked as if absent and passed through unchanged.
constexpr std::string_view kCompatRoles[] = {"developer", "system", "assistant", "user", "tool"};
constexpr Field kCompatTextMessageStart[] = {Str("messageId"), OptStr("role").OneOf(kCompatRoles),
                                             OptStr("name")};
constexpr Field kCompatTextMessageChunk[] = {
    OptStr("messageId"), OptStr("role").OneOf(kCompatRoles), OptStr("delta"), OptStr("name")};
constexpr Field kCompatToolCallResult[] = {Str("messageId"), Str("toolCallId"),
                                           Req("content", kAnyValue),
                                           OptStr("role").OneOf(kCompatRoles)};
constexpr Field kCompatMessagesSnapshot[] = {Req("messages", kArray)};
constexpr Field kCompatRunStarted[] = {Str("threadId"), Str("runId"), OptStr("protocolVersion"),
                                       OptStr("parentRunId"), Opt("input", kAnyValue)};
constexpr Field kCompatRunFinished[] = {Str("threadId"), Str("runId"), Opt("result", kAnyValue),
                                        Opt("outcome", kObject).Matching(&kRunOutcome), Usage()};

constexpr EventSpec kAguiCompatEvents[] = {
    {"TEXT_MESSAGE_START", kCompatTextMessageStart, true},
    {"TEXT_MESSAGE_CHUNK", kCompatTextMessageChunk, true},
    {"TOOL_CALL_RESULT", kCompatToolCallResult, true},
    {"MESSAGES_SNAPSHOT", kCompatMessagesSnapshot},
    {"RUN_STARTED", kCompatRunStarted},
    {"RUN_FINISHED", kCompatRunFinished},
};

constexpr EventSpec kAguiEvents[] = {
    {"TEXT_MESSAGE_START", kTextMessageStart, true},
    {"TEXT_MESSAGE_CONTENT", kMessageDelta, true},
    {"TEXT_MESSAGE_END", kMessageId, true},
    {"TEXT_MESSAGE_CHUNK", kTextMessageChunk, true},
    {"TOOL_CALL_START", kToolCallStart, true},
    {"TOOL_CALL_ARGS", kToolCallArgs, true},
    {"TOOL_CALL_END", kToolCallEnd, true},
    {"TOOL_CALL_CHUNK", kToolCallChunk, true},
    {"TOOL_CALL_RESULT", kToolCallResult, true},
    {"STATE_SNAPSHOT", kStateSnapshot, true},
    {"STATE_DELTA", kStateDelta, true},
    {"MESSAGES_SNAPSHOT", kMessagesSnapshot},
    {"ACTIVITY_SNAPSHOT", kActivitySnapshot, true},
    {"ACTIVITY_DELTA", kActivityDelta, true},
    {"RAW", kRaw, true},
    {"CUSTOM", kCustom, true},
    {"RUN_STARTED", kRunStarted},
    {"RUN_FINISHED", kRunFinished},
    {"RUN_ERROR", kRunError},
    {"STEP_STARTED", kStep, true},
    {"STEP_FINISHED", kStep, true},
    {"REASONING_START", kMessageId, true},
    {"REASONING_MESSAGE_START", kReasoningMessageStart, true},
    {"REASONING_MESSAGE_CONTENT", kMessageDelta, true},
    {"REASONING_MESSAGE_END", kMessageId, true},
    {"REASONING_MESSAGE_CHUNK", kReasoningMessageChunk, true},
    {"REASONING_END", kMessageId, true},
    {"REASONING_ENCRYPTED_VALUE", kReasoningEncryptedValue, true},
    {"SUBAGENT_STARTED", kSubagentStarted},
    {"SUBAGENT_FINISHED", kSubagentFinished},
    {"SUBAGENT_ERROR", kSubagentError},
};

// ---- A2A (spec §3.1) ----------------------------------------------------------------------------

constexpr std::string_view kTaskStates[] = {"TASK_STATE_PENDING",       "TASK_STATE_SUBMITTED",
                                            "TASK_STATE_WORKING",       "TASK_STATE_COMPLETED",
                                            "TASK_STATE_FAILED",        "TASK_STATE_CANCELED",
                                            "TASK_STATE_REJECTED",      "TASK_STATE_INPUT_REQUIRED",
                                            "TASK_STATE_AUTH_REQUIRED", "TASK_STATE_UNKNOWN"};

// Compatible mode: also the A2A 0.3 spellings the original's older back-ends and front-end use.
constexpr std::string_view kCompatTaskStates[] = {"TASK_STATE_PENDING",
                                                  "TASK_STATE_SUBMITTED",
                                                  "TASK_STATE_WORKING",
                                                  "TASK_STATE_COMPLETED",
                                                  "TASK_STATE_FAILED",
                                                  "TASK_STATE_CANCELED",
                                                  "TASK_STATE_REJECTED",
                                                  "TASK_STATE_INPUT_REQUIRED",
                                                  "TASK_STATE_AUTH_REQUIRED",
                                                  "TASK_STATE_UNKNOWN",
                                                  "pending",
                                                  "submitted",
                                                  "working",
                                                  "completed",
                                                  "failed",
                                                  "canceled",
                                                  "rejected",
                                                  "input-required",
                                                  "auth-required",
                                                  "unknown"};

constexpr Field kTaskSubmitted[] = {Str("taskId"), Str("contextId"), Str("agentName"),
                                    Opt("input", kText)};
constexpr Field kTaskStatusUpdate[] = {Str("taskId"), Str("contextId"),
                                       Str("state").OneOf(kTaskStates), Opt("message", kText)};
constexpr Field kArtifactCreated[] = {Str("taskId"), Str("contextId"), Req("artifact", kObject)};
constexpr Field kArtifactUpdated[] = {Str("taskId"),           Str("contextId"),
                                      Str("artifactId"),       Req("append", kBool),
                                      Req("lastChunk", kBool), Opt("content", kText)};
constexpr Field kAgentMessage[] = {Str("taskId"), Str("contextId"), Str("messageId"),
                                   Req("content", kText)};
constexpr Field kInputRequired[] = {Str("taskId"), Str("contextId"), Req("prompt", kText)};
constexpr Field kAuthRequired[] = {Str("taskId"), Str("contextId"), Str("authUrl")};
constexpr Field kJsonRpcResponse[] = {Req("id", kString | kInteger), Req("result", kAnyValue)};
constexpr Field kJsonRpcError[] = {Req("id", kString | kInteger | kNull), Req("code", kInteger),
                                   Str("message"), Opt("data", kNotNull)};

constexpr Field kCompatTaskStatusUpdate[] = {
    Str("taskId"), Str("contextId"), Str("state").OneOf(kCompatTaskStates), Opt("message", kText)};
constexpr EventSpec kA2aCompatEvents[] = {{"TASK_STATUS_UPDATE", kCompatTaskStatusUpdate}};

constexpr EventSpec kA2aEvents[] = {
    {"TASK_SUBMITTED", kTaskSubmitted},     {"TASK_STATUS_UPDATE", kTaskStatusUpdate},
    {"ARTIFACT_CREATED", kArtifactCreated}, {"ARTIFACT_UPDATED", kArtifactUpdated},
    {"AGENT_MESSAGE", kAgentMessage},       {"INPUT_REQUIRED", kInputRequired},
    {"AUTH_REQUIRED", kAuthRequired},       {"JSON_RPC_RESPONSE", kJsonRpcResponse},
    {"JSON_RPC_ERROR", kJsonRpcError},
};

// ---- System (spec §3.1) -------------------------------------------------------------------------

constexpr Field kContextEntry[] = {Str("context_id"),
                                   Str("name"),
                                   Req("created_at", kInteger | kString).With(kTime),
                                   Req("updated_at", kInteger | kString).With(kTime),
                                   Count("message_count"),
                                   Count("task_count")};
constexpr Shape kContextEntryShape{kContextEntry};
constexpr Field kContextCreated[] = {Str("contextId"), Str("name")};
constexpr Field kContextUpdated[] = {Str("contextId"), OptStr("name")};
constexpr Field kContextDeleted[] = {Str("contextId")};
constexpr Field kContextsSnapshot[] = {Req("contexts", kArray).Items(kObject, &kContextEntryShape)};
constexpr Field kConnected[] = {Req("connectionId", kString | kInteger).With(kCount)};

constexpr EventSpec kSystemEvents[] = {
    {"CONTEXT_CREATED", kContextCreated},
    {"CONTEXT_UPDATED", kContextUpdated},
    {"CONTEXT_DELETED", kContextDeleted},
    {"CONTEXTS_SNAPSHOT", kContextsSnapshot},
    {"CONNECTED", kConnected},
    {"HEARTBEAT", {}},
};

struct ProtocolSpec {
  Protocol protocol;
  std::string_view display_name;
  std::span<const EventSpec> events;
  std::span<const EventSpec> compatible = {};  // replacements in compatible mode
};
constexpr ProtocolSpec kProtocols[] = {{Protocol::kAgui, "AG-UI", kAguiEvents, kAguiCompatEvents},
                                       {Protocol::kA2a, "A2A", kA2aEvents, kA2aCompatEvents},
                                       {Protocol::kSystem, "System", kSystemEvents}};

// Every protocol: the timestamp (its kinds are decided by kTime).
constexpr Field kCommon[] = {Opt("timestamp", kInteger | kString).With(kTime)};

// ---- The checker --------------------------------------------------------------------------------

// A JSON path kept on the stack while checking, rendered only when a problem is reported.
struct Path {
  const Path* parent = nullptr;
  std::string_view name;  // a member name; empty for an array index
  std::size_t index = 0;

  std::string Render() const {
    std::string out = parent != nullptr ? parent->Render() : std::string();
    if (name.empty()) {
      fmt::format_to(std::back_inserter(out), "[{}]", index);
    } else {
      if (!out.empty()) out += '.';
      out += name;
    }
    return out;
  }
};

Error Fail(const Path& path, std::string_view what) {
  std::string field = path.Render();
  std::string message = fmt::format("{} {}", field, what);
  return ValidationError{std::move(field), std::move(message)};
}

std::string_view View(const json::string& text) { return {text.data(), text.size()}; }

bool IsIdName(std::string_view name) {
  return name == "id" || name.ends_with("Id") || name.ends_with("_id");
}

std::optional<std::int64_t> SafeInteger(const json::value& value) {
  if (value.is_int64()) {
    const std::int64_t number = value.get_int64();
    if (number >= -kMaxSafeInteger && number <= kMaxSafeInteger) return number;
    return std::nullopt;
  }
  if (value.is_uint64() && value.get_uint64() <= std::uint64_t(kMaxSafeInteger)) {
    return std::int64_t(value.get_uint64());
  }
  if (value.is_double()) {
    const double number = value.get_double();
    if (std::trunc(number) == number && std::fabs(number) <= double(kMaxSafeInteger)) {
      return std::int64_t(number);
    }
  }
  return std::nullopt;
}

Kinds KindOf(const json::value& value) {
  if (value.is_null()) return kNull;
  if (value.is_bool()) return kBool;
  if (value.is_string()) return kString;
  if (value.is_array()) return kArray;
  if (value.is_object()) return kObject;
  if (value.is_double()) return SafeInteger(value) ? kInteger : kFraction;
  return kInteger;  // int64 or uint64, whatever its size; rules needing a safe range check it
}

std::string DescribeKinds(Kinds kinds) {
  if (kinds == kNotNull) return "must not be null";
  std::vector<std::string_view> names;
  if (kinds & kBool) names.push_back("a boolean");
  if ((kinds & kInteger) && (kinds & kFraction)) {
    names.push_back("a number");
  } else if (kinds & kInteger) {
    names.push_back("an integer");
  }
  if (kinds & kString) names.push_back("a string");
  if (kinds & kArray) names.push_back("an array");
  if (kinds & kObject) names.push_back("an object");
  if (kinds & kNull) names.push_back("null");
  return fmt::format("must be {}", fmt::join(names, " or "));
}

bool IsJsonPointer(std::string_view text) {
  if (text.empty()) return true;
  if (text.front() != '/') return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '~' && (i + 1 == text.size() || (text[i + 1] != '0' && text[i + 1] != '1'))) {
      return false;
    }
  }
  return true;
}

constexpr std::string_view kBadId =
    "must be a non-empty id of at most 256 bytes without control characters";

// `lenient` (compatible mode): an optional field that is null counts as absent.
Error CheckObject(const Shape& shape, const json::object& object, const Path& path, bool lenient);

Error CheckTime(const json::value& value, const Path& path) {
  if (value.is_string() && IsRfc3339(View(value.get_string()))) return std::nullopt;
  if (const auto millis = SafeInteger(value); millis && *millis >= 0) return std::nullopt;
  return Fail(path,
              "must be epoch milliseconds (an integer from 0 to 2^53-1) or an RFC 3339 "
              "date-time string");
}

Error CheckItems(const Field& field, const json::array& items, const Path& path, bool lenient) {
  if ((field.rules & kNonEmpty) && items.empty()) return Fail(path, "must not be empty");
  const bool ids = field.name.ends_with("Ids");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Path item_path{&path, {}, i};
    const json::value& item = items[i];
    if (field.item_kinds != 0 && (KindOf(item) & field.item_kinds) == 0) {
      return Fail(item_path, DescribeKinds(field.item_kinds));
    }
    if (ids && item.is_string() && !IsValidClientId(View(item.get_string()))) {
      return Fail(item_path, kBadId);
    }
    if (field.shape != nullptr && item.is_object()) {
      if (auto error = CheckObject(*field.shape, item.get_object(), item_path, lenient)) {
        return error;
      }
    }
  }
  return std::nullopt;
}

Error CheckValue(const Field& field, const json::value& value, const Path& path, bool lenient) {
  if (field.rules & kTime) return CheckTime(value, path);
  const Kinds kind = KindOf(value);
  if ((kind & field.kinds) == 0) return Fail(path, DescribeKinds(field.kinds));
  if (kind == kString) {
    const std::string_view text = View(value.get_string());
    if (IsIdName(field.name) && !IsValidClientId(text)) return Fail(path, kBadId);
    if (!field.one_of.empty() &&
        std::find(field.one_of.begin(), field.one_of.end(), text) == field.one_of.end()) {
      return Fail(path, fmt::format("must be one of: {}", fmt::join(field.one_of, ", ")));
    }
    if ((field.rules & kPointer) && !IsJsonPointer(text)) {
      return Fail(path, "must be a JSON Pointer (RFC 6901)");
    }
  } else if (kind == kInteger && (field.rules & kCount)) {
    if (const auto count = SafeInteger(value); !count || *count < 0) {
      return Fail(path, "must be a non-negative integer no larger than 2^53-1");
    }
  } else if (kind == kArray) {
    return CheckItems(field, value.get_array(), path, lenient);
  } else if (kind == kObject && field.shape != nullptr) {
    return CheckObject(*field.shape, value.get_object(), path, lenient);
  }
  return std::nullopt;
}

Error CheckFields(std::span<const Field> fields, const json::object& object, const Path* base,
                  bool lenient) {
  for (const Field& field : fields) {
    const Path path{base, field.name};
    const json::value* value = object.if_contains(field.name);
    if (value == nullptr) {
      if (field.required) return Fail(path, "is required");
      continue;
    }
    if (lenient && !field.required && value->is_null()) continue;
    if (auto error = CheckValue(field, *value, path, lenient)) return error;
  }
  return std::nullopt;
}

Error CheckObject(const Shape& shape, const json::object& object, const Path& path, bool lenient) {
  if (auto error = CheckFields(shape.fields, object, &path, lenient)) return error;
  if (shape.tag.empty()) return std::nullopt;
  const Path tag_path{&path, shape.tag};
  const json::value* tag = object.if_contains(shape.tag);
  if (tag == nullptr) return Fail(tag_path, "is required");
  if (!tag->is_string()) return Fail(tag_path, "must be a string");
  std::vector<std::string_view> tags;
  for (const Variant& variant : shape.variants) {
    if (variant.tag == View(tag->get_string())) {
      return CheckFields(variant.fields, object, &path, lenient);
    }
    tags.push_back(variant.tag);
  }
  return Fail(tag_path, fmt::format("must be one of: {}", fmt::join(tags, ", ")));
}

bool IsNonFinite(const json::value& value) {
  return value.is_double() && !std::isfinite(value.get_double());
}

// The path of the first non-finite number in `value` (document order), appended to `path`.
// Only called on a document whose depth was checked, so the recursion is bounded.
bool FindNonFinite(const json::value& value, std::string& path) {
  if (IsNonFinite(value)) return true;
  const std::size_t mark = path.size();
  if (const auto* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      fmt::format_to(std::back_inserter(path), "[{}]", i);
      if (FindNonFinite((*array)[i], path)) return true;
      path.resize(mark);
    }
  } else if (const auto* object = value.if_object()) {
    for (const json::key_value_pair& member : *object) {
      const std::string_view key{member.key().data(), member.key().size()};
      path.append(".").append(IsValidClientId(key) ? key : "?");
      if (FindNonFinite(member.value(), path)) return true;
      path.resize(mark);
    }
  }
  return false;
}

// Depth and non-finite numbers (a number too large for a double, such as 1e400, which no JSON
// encoder can write back). Iterative, so that a hostile document cannot exhaust the stack here.
Error CheckDepth(const json::object& event) {
  std::vector<std::pair<const json::value*, std::size_t>> stack;
  bool non_finite = false;
  for (const json::key_value_pair& member : event) {
    stack.assign(1, {&member.value(), 2});
    while (!stack.empty()) {
      const auto [value, depth] = stack.back();
      stack.pop_back();
      non_finite = non_finite || IsNonFinite(*value);
      if (!value->is_array() && !value->is_object()) continue;
      if (depth > kMaxJsonDepth) {
        const std::string_view key{member.key().data(), member.key().size()};
        const std::string field = IsValidClientId(key) ? std::string(key) : std::string();
        return ValidationError{field,
                               fmt::format("{} is nested deeper than {} levels",
                                           field.empty() ? "the event" : field, kMaxJsonDepth)};
      }
      if (value->is_array()) {
        for (const json::value& item : value->get_array()) stack.emplace_back(&item, depth + 1);
      } else {
        for (const json::key_value_pair& child : value->get_object()) {
          stack.emplace_back(&child.value(), depth + 1);
        }
      }
    }
  }
  if (!non_finite) return std::nullopt;
  std::string field;
  for (const json::key_value_pair& member : event) {
    const std::string_view key{member.key().data(), member.key().size()};
    field.assign(IsValidClientId(key) ? key : "?");
    if (FindNonFinite(member.value(), field)) break;
  }
  std::string message =
      fmt::format("{} must be a finite number (at most about 1.8e308 in magnitude)", field);
  return ValidationError{std::move(field), std::move(message)};
}

const EventSpec* FindSpec(std::span<const EventSpec> specs, std::string_view type) {
  const auto spec =
      std::find_if(specs.begin(), specs.end(), [&](const EventSpec& e) { return e.type == type; });
  return spec == specs.end() ? nullptr : &*spec;
}

}  // namespace

std::optional<ValidationError> ValidateEvent(Protocol protocol, const json::object& event,
                                             ValidationMode mode) {
  const json::value* type = event.if_contains("type");
  if (type == nullptr) return ValidationError{"type", "type is required"};
  if (!type->is_string()) return ValidationError{"type", "type must be a string"};
  const ProtocolSpec& known = *std::find_if(std::begin(kProtocols), std::end(kProtocols),
                                            [&](const auto& p) { return p.protocol == protocol; });
  const bool lenient = mode == ValidationMode::kCompatible;
  const std::string_view name = View(type->get_string());
  const EventSpec* spec = lenient ? FindSpec(known.compatible, name) : nullptr;
  if (spec == nullptr) spec = FindSpec(known.events, name);
  if (spec == nullptr) {
    return ValidationError{"type",
                           fmt::format("type must be a known {} event type", known.display_name)};
  }
  if (auto error = CheckDepth(event)) return error;
  if (auto error = CheckFields(kCommon, event, nullptr, lenient)) return error;
  if (protocol == Protocol::kAgui) {
    if (auto error = CheckFields(kAguiBase, event, nullptr, lenient)) return error;
    if (spec->attributable) {
      if (auto error = CheckFields(kAttributable, event, nullptr, lenient)) return error;
    }
  }
  return CheckFields(spec->fields, event, nullptr, lenient);
}

void AddTimestampIfAbsent(Protocol protocol, json::object& event,
                          std::chrono::system_clock::time_point now) {
  if (event.contains("timestamp")) return;
  if (protocol == Protocol::kAgui) {
    event.emplace("timestamp", ToUnixMillis(now));
  } else {
    const std::string text = FormatRfc3339(now);
    event.emplace("timestamp", json::string_view(text));
  }
}

}  // namespace herald
