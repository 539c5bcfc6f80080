// Wire types of Herald's HTTP API (SPEC §1, §3). AG-UI events come from `@ag-ui/core` (types
// only: nothing of it is loaded at run time); A2A and System events are written out here from
// SPEC §3.1.
import type { AGUIEvent } from '@ag-ui/core';

export type { AGUIEvent };

/** `timestamp` is epoch milliseconds or an RFC 3339 string (older publishers send those). */
export type Timestamp = number | string;

// ---- A2A (SPEC §3.1) ----

export type A2ATaskState =
  | 'TASK_STATE_PENDING'
  | 'TASK_STATE_SUBMITTED'
  | 'TASK_STATE_WORKING'
  | 'TASK_STATE_COMPLETED'
  | 'TASK_STATE_FAILED'
  | 'TASK_STATE_CANCELED'
  | 'TASK_STATE_REJECTED'
  | 'TASK_STATE_INPUT_REQUIRED'
  | 'TASK_STATE_AUTH_REQUIRED'
  | 'TASK_STATE_UNKNOWN';

interface A2ABase {
  /** Added by the hub when the publisher left it out (RFC 3339 UTC for A2A). */
  timestamp?: Timestamp;
  /** Unknown extra fields are kept by the hub and delivered. */
  [extra: string]: unknown;
}

interface A2ATaskEvent extends A2ABase {
  taskId: string;
  contextId: string;
}

export interface TaskSubmittedEvent extends A2ATaskEvent {
  type: 'TASK_SUBMITTED';
  agentName: string;
  input?: unknown;
}
export interface TaskStatusUpdateEvent extends A2ATaskEvent {
  type: 'TASK_STATUS_UPDATE';
  state: A2ATaskState;
  message?: unknown;
}
export interface ArtifactCreatedEvent extends A2ATaskEvent {
  type: 'ARTIFACT_CREATED';
  artifact: unknown;
}
export interface ArtifactUpdatedEvent extends A2ATaskEvent {
  type: 'ARTIFACT_UPDATED';
  artifactId: string;
  append: boolean;
  lastChunk: boolean;
  content?: unknown;
}
export interface AgentMessageEvent extends A2ATaskEvent {
  type: 'AGENT_MESSAGE';
  messageId: string;
  content: unknown;
}
export interface InputRequiredEvent extends A2ATaskEvent {
  type: 'INPUT_REQUIRED';
  prompt: unknown;
}
export interface AuthRequiredEvent extends A2ATaskEvent {
  type: 'AUTH_REQUIRED';
  authUrl: string;
}
export interface JsonRpcResponseEvent extends A2ABase {
  type: 'JSON_RPC_RESPONSE';
  id: string | number | null;
  result: unknown;
}
export interface JsonRpcErrorEvent extends A2ABase {
  type: 'JSON_RPC_ERROR';
  id: string | number | null;
  code: number;
  message: string;
  data?: unknown;
}

/** Every A2A event of SPEC §3.1. */
export type A2AEvent =
  | TaskSubmittedEvent
  | TaskStatusUpdateEvent
  | ArtifactCreatedEvent
  | ArtifactUpdatedEvent
  | AgentMessageEvent
  | InputRequiredEvent
  | AuthRequiredEvent
  | JsonRpcResponseEvent
  | JsonRpcErrorEvent;

// ---- System (SPEC §3.1) ----

/** One entry of a `CONTEXTS_SNAPSHOT` (snake_case, as existing clients expect). */
export interface SnapshotContext {
  context_id: string;
  name: string;
  created_at: string;
  updated_at: string;
  message_count: number;
  task_count: number;
}

interface SystemBase {
  timestamp?: Timestamp;
  [extra: string]: unknown;
}

export interface ContextCreatedEvent extends SystemBase {
  type: 'CONTEXT_CREATED';
  contextId: string;
  name: string;
}
export interface ContextUpdatedEvent extends SystemBase {
  type: 'CONTEXT_UPDATED';
  contextId: string;
  name?: string;
}
export interface ContextDeletedEvent extends SystemBase {
  type: 'CONTEXT_DELETED';
  contextId: string;
}
export interface ContextsSnapshotEvent extends SystemBase {
  type: 'CONTEXTS_SNAPSHOT';
  contexts: SnapshotContext[];
  /** How many contexts the user has (the snapshot lists the newest ones). */
  total?: number;
  /** `true` when the snapshot left some out (the contexts API lists them all). */
  truncated?: boolean;
}
export interface ConnectedEvent extends SystemBase {
  type: 'CONNECTED';
  connectionId: string;
}
export interface HeartbeatEvent extends SystemBase {
  type: 'HEARTBEAT';
}

export type SystemEvent =
  | ContextCreatedEvent
  | ContextUpdatedEvent
  | ContextDeletedEvent
  | ContextsSnapshotEvent
  | ConnectedEvent
  | HeartbeatEvent;

// ---- Streams (SPEC §1.1) ----

export type Protocol = 'agui' | 'a2a' | 'system';

/** What the `contexts` stream delivers: every event of the user, wrapped. */
export type ContextsStreamEvent =
  | { protocol: 'agui'; event: AGUIEvent }
  | { protocol: 'a2a'; event: A2AEvent }
  | { protocol: 'system'; event: SystemEvent };

/** The stream names of `GET /api/v1/stream/{stream}` and what each one delivers. */
export interface StreamEvents {
  agui: AGUIEvent;
  a2a: A2AEvent;
  contexts: ContextsStreamEvent;
}
export type StreamName = keyof StreamEvents;

/** An event for publishing: its `timestamp` may be left out (the hub adds it). */
export type PublishEvent<P extends Protocol> = P extends 'agui'
  ? AGUIEvent
  : P extends 'a2a'
    ? A2AEvent
    : SystemEvent;

// ---- Publishing (SPEC §1.2, docs/DECISIONS.md "Batch publish") ----

/** `200` of `POST /api/v1/webhook/{agui|a2a}`. */
export interface PublishResult {
  status: 'broadcasted';
  /** Local stream deliveries (the primary stream plus the contexts stream). */
  connection_count: number;
  /** The SSE id the event carries. */
  event_id: string;
}

/** `200` of `POST /api/v1/core/contexts/{id}/events`. */
export interface ContextPublishResult {
  success: true;
  protocol: Protocol;
  broadcast_count: number;
  context_id: string;
  event_id: string;
}

/** One item of `POST /api/v1/events`. */
export type BatchItem =
  | { user_id: string; protocol: 'agui'; event: AGUIEvent; context_id?: string }
  | { user_id: string; protocol: 'a2a'; event: A2AEvent; context_id?: string }
  | { user_id: string; protocol: 'system'; event: SystemEvent; context_id?: string };

/** One item's answer, in the items' order. */
export type BatchItemResult =
  | { status: 200; event_id: string; connection_count: number }
  | { status: number; code: ErrorCode; message: string; field?: string };

/** `200` of `POST /api/v1/events` (the request was well-formed; items may still be refused). */
export interface BatchResult {
  results: BatchItemResult[];
  accepted: number;
  rejected: number;
}

// ---- Contexts (SPEC §1.3) ----

export interface HeraldContext {
  context_id: string;
  user_id: string;
  name: string;
  kind: string;
  created_at: string;
  updated_at: string;
}

/** A context as listed, with its statistics. */
export interface ContextWithStats extends HeraldContext {
  task_count: number;
  message_count: number;
  last_message_at: string | null;
}

/** One page of `GET /api/v1/core/contexts`. */
export interface ContextPage {
  contexts: ContextWithStats[];
  /** How many contexts the user has in all. */
  total: number;
  /** Pass as `cursor` for the next page; `null` on the last one. */
  nextCursor: string | null;
}

// ---- Errors (SPEC §1.5) ----

export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'validation_error'
  | 'rate_limited'
  | 'service_unavailable'
  | 'internal_error'
  | (string & {});

/** The hub's error body. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  timestamp: string;
  /** The offending field of a `422`. */
  field?: string;
}
