// The AG-UI 1.0 event table (core/event_schema.h): the fields of each event type, the nested
// shapes they point to, and the looser replacements of compatible mode.
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

#include <string_view>

#include "core/event_schema.h"

namespace herald::event_schema {
namespace {

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

}  // namespace

constinit const ProtocolSpec kAguiSchema{Protocol::kAgui,   "AG-UI",   kAguiEvents,
                                         kAguiCompatEvents, kAguiBase, kAttributable};

}  // namespace herald::event_schema
