// The A2A event table (spec §3.1; core/event_schema.h), and the replacements of compatible mode.

#include <string_view>

#include "core/event_schema.h"

namespace herald::event_schema {
namespace {

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

}  // namespace

constinit const ProtocolSpec kA2aSchema{Protocol::kA2a,   "A2A", kA2aEvents,
                                        kA2aCompatEvents, {},    {}};

}  // namespace herald::event_schema
