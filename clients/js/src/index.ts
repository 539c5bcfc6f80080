// @herald/client: a browser and Node.js client of the Herald event hub.
export { HeraldClient, ContextsApi, newIdempotencyKey } from './client.js';
export type {
  BatchOptions,
  ContextCreateOptions,
  ContextsListOptions,
  ContextsOptions,
  PublishOptions,
  RequestOptions,
} from './client.js';
export { Subscription } from './subscription.js';
export type {
  ErrorInfo,
  EventInfo,
  OpenInfo,
  ReconnectOptions,
  ResetInfo,
  SubscribeOptions,
  SubscriptionState,
} from './subscription.js';
export { HeraldError } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export type { HeraldClientOptions, RetryOptions, TokenSource } from './options.js';
export type { BackoffOptions } from './backoff.js';
export { SseParser } from './sse-parser.js';
export type { SseFeedResult, SseMessage } from './sse-parser.js';
export type * from './types.js';
