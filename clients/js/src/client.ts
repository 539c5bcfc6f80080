// The client: streams (subscribe) and the publish, batch and contexts routes of SPEC §1.2/§1.3,
// each answer typed, each error a HeraldError with the hub's error shape (SPEC §1.5).
import { backoffDelay, resolveBackoff, sleep, type ResolvedBackoff } from './backoff.js';
import { errorFromResponse, HeraldError, networkError } from './errors.js';
import { makeTransport, requestHeaders, type HeraldClientOptions, type Transport } from './options.js';
import { Subscription, type SubscribeOptions } from './subscription.js';
import type {
  A2AEvent,
  AGUIEvent,
  BatchItem,
  BatchResult,
  ContextPage,
  ContextPublishResult,
  ContextWithStats,
  HeraldContext,
  Protocol,
  PublishEvent,
  PublishResult,
  StreamName,
} from './types.js';

export interface RequestOptions {
  /** Aborts the request and any wait between its retries. */
  signal?: AbortSignal;
}

export interface PublishOptions extends RequestOptions {
  /** Attributes the event to this context (the webhook body's top-level `context_id`). */
  contextId?: string;
  /**
   * The `Idempotency-Key` (1–255 visible ASCII characters). Default: a random key made for
   * this call and sent with each of its retries, so a retry after a lost answer is not stored
   * twice. Pass your own to make retries across calls (or processes) safe; `false` sends none.
   */
  idempotencyKey?: string | false;
}

export interface BatchOptions extends RequestOptions {
  /** As for publish: default a random key per call, reused by its retries; `false` sends none. */
  idempotencyKey?: string | false;
}

export interface ContextsListOptions extends RequestOptions {
  /** 1–1000 entries (hub default 100). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Another user's contexts (needs a token with `events:publish`). */
  userId?: string;
}

export interface ContextsOptions extends RequestOptions {
  /** Another user's context (needs a token with `events:publish`). */
  userId?: string;
}

export interface ContextCreateOptions extends ContextsOptions {
  /** The caller's own id for the context (else the hub makes a UUID). */
  contextId?: string;
}

const DEFAULT_RETRY: ResolvedBackoff = { initialDelayMs: 250, maxDelayMs: 30_000, factor: 2, jitter: 0.3 };

interface CallSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** Expected success status. */
  ok: number;
  /** Safe to send again after a network failure (the hub may have acted on the first one). */
  idempotent: boolean;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** The answer of an API call: its JSON body, and whether the hub replayed an idempotent result. */
interface CallResult {
  body: unknown;
  replayed: boolean;
}

export class HeraldClient {
  readonly #transport: Transport;
  readonly #retry: ResolvedBackoff;
  readonly #maxRetries: number;

  /** The contexts API (SPEC §1.3). */
  readonly contexts: ContextsApi;

  constructor(options: HeraldClientOptions = {}) {
    this.#transport = makeTransport(options);
    this.#retry = resolveBackoff(options.retry, DEFAULT_RETRY);
    this.#maxRetries = options.retry?.maxRetries ?? 3;
    if (!Number.isInteger(this.#maxRetries) || this.#maxRetries < 0) throw new RangeError('retry.maxRetries must be an integer ≥ 0');
    this.contexts = new ContextsApi((spec) => this.#call(spec));
  }

  /**
   * Opens `GET /api/v1/stream/{stream}` and keeps it open (reconnecting with Last-Event-ID)
   * until `close()`. `agui` delivers AG-UI events, `a2a` A2A events, `contexts` every event of
   * the user as `{protocol, event}` after a `CONTEXTS_SNAPSHOT`.
   */
  subscribe<S extends StreamName>(stream: S, options: SubscribeOptions<S>): Subscription<S> {
    return new Subscription(this.#transport, stream, options);
  }

  /** `POST /api/v1/webhook/{agui|a2a}`: one event for `userId`. Resolves once it is stored. */
  publish(protocol: 'agui', userId: string, event: AGUIEvent, options?: PublishOptions): Promise<PublishResult & { replayed: boolean }>;
  publish(protocol: 'a2a', userId: string, event: A2AEvent, options?: PublishOptions): Promise<PublishResult & { replayed: boolean }>;
  async publish(protocol: 'agui' | 'a2a', userId: string, event: AGUIEvent | A2AEvent, options: PublishOptions = {}): Promise<PublishResult & { replayed: boolean }> {
    if (protocol !== 'agui' && protocol !== 'a2a') throw new TypeError(`publish: protocol must be agui or a2a, not ${String(protocol)}`);
    const body: Record<string, unknown> = { ...event, user_id: userId };
    if (options.contextId !== undefined) body.context_id = options.contextId;
    const key = idempotencyKeyFor(options.idempotencyKey);
    const res = await this.#call({
      method: 'POST', path: `/api/v1/webhook/${protocol}`, body, ok: 200,
      idempotent: key !== undefined, idempotencyKey: key, signal: options.signal,
    });
    return { ...(res.body as PublishResult), replayed: res.replayed };
  }

  /**
   * `POST /api/v1/events`: many events in one request and one commit. The answer has one result
   * per item, in order; an item can be refused while others are stored (`rejected > 0`).
   */
  async publishBatch(items: readonly BatchItem[], options: BatchOptions = {}): Promise<BatchResult & { replayed: boolean }> {
    if (!Array.isArray(items)) throw new TypeError('publishBatch takes an array of items');
    const key = idempotencyKeyFor(options.idempotencyKey);
    const res = await this.#call({
      method: 'POST', path: '/api/v1/events', body: items, ok: 200,
      idempotent: key !== undefined, idempotencyKey: key, signal: options.signal,
    });
    return { ...(res.body as BatchResult), replayed: res.replayed };
  }

  /**
   * `POST /api/v1/core/contexts/{id}/events`: an event to a context the caller owns. This route
   * takes no Idempotency-Key, so it is retried only when the hub refused it (429/503).
   */
  async publishToContext<P extends Protocol>(contextId: string, protocol: P, event: PublishEvent<P>, options: RequestOptions = {}): Promise<ContextPublishResult> {
    const res = await this.#call({
      method: 'POST', path: `/api/v1/core/contexts/${encodeURIComponent(contextId)}/events`,
      body: { protocol, event }, ok: 200, idempotent: false, signal: options.signal,
    });
    return res.body as ContextPublishResult;
  }

  /**
   * One API request, retried after `429`/`503` (the hub did not act; after Retry-After, which
   * must be within `maxDelayMs`), and, when `idempotent`, after a network failure.
   */
  async #call(spec: CallSpec): Promise<CallResult> {
    const url = `${this.#transport.baseUrl}${spec.path}`;
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    for (let retry = 0; ; retry++) {
      if (spec.signal?.aborted) throw new HeraldError('aborted', `${spec.method} ${spec.path} was aborted`, { cause: spec.signal.reason });
      const extra: Record<string, string> = { Accept: 'application/json' };
      if (payload !== undefined) extra['Content-Type'] = 'application/json';
      if (spec.idempotencyKey !== undefined) extra['Idempotency-Key'] = spec.idempotencyKey;
      const headers = await requestHeaders(this.#transport, extra);
      let error: HeraldError;
      try {
        const res = await this.#transport.fetch(url, {
          method: spec.method,
          headers,
          body: payload,
          credentials: this.#transport.credentials,
          cache: 'no-store',
          signal: spec.signal,
        });
        if (res.status === spec.ok) return { body: await readJson(res, spec), replayed: res.headers.get('Idempotent-Replayed') === 'true' };
        error = await errorFromResponse(res);
        if (res.status !== 429 && res.status !== 503) throw error;
      } catch (err) {
        if (err instanceof HeraldError) throw err;
        if (spec.signal?.aborted) throw new HeraldError('aborted', `${spec.method} ${spec.path} was aborted`, { cause: err });
        error = networkError(err, `${spec.method} ${spec.path}`);
        if (!spec.idempotent) throw error;
      }
      if (retry >= this.#maxRetries) throw error;
      const backoff = backoffDelay(this.#retry, this.#retry.initialDelayMs, retry);
      if (error.retryAfterMs !== undefined && error.retryAfterMs > this.#retry.maxDelayMs) throw error;
      await sleep(Math.max(backoff, error.retryAfterMs ?? 0), spec.signal);
    }
  }
}

/** `GET/POST /api/v1/core/contexts`, `GET/PUT/DELETE /api/v1/core/contexts/{id}`. */
export class ContextsApi {
  readonly #call: (spec: CallSpec) => Promise<CallResult>;

  constructor(call: (spec: CallSpec) => Promise<CallResult>) {
    this.#call = call;
  }

  /** One page of the user's contexts with their statistics, newest `updated_at` first. */
  async list(options: ContextsListOptions = {}): Promise<ContextPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    if (options.userId !== undefined) query.set('user_id', options.userId);
    const res = await this.#call({ method: 'GET', path: `/api/v1/core/contexts${queryString(query)}`, ok: 200, idempotent: true, signal: options.signal });
    const envelope = res.body as { data: ContextWithStats[]; meta: { total?: number; next_cursor?: string | null } };
    return {
      contexts: envelope.data,
      total: envelope.meta?.total ?? envelope.data.length,
      nextCursor: envelope.meta?.next_cursor ?? null,
    };
  }

  /** Every context, page after page (`limit` per request). */
  async *all(options: Omit<ContextsListOptions, 'cursor'> = {}): AsyncGenerator<ContextWithStats, void, undefined> {
    let cursor: string | undefined;
    // Bounded: the hub caps a user's contexts (10 000 by default), so pages end.
    for (let page = 0; page < 1_000_000; page++) {
      const res = await this.list({ ...options, cursor });
      yield* res.contexts;
      if (res.nextCursor === null || res.contexts.length === 0) return;
      cursor = res.nextCursor;
    }
  }

  /** One context with its statistics. */
  async get(contextId: string, options: ContextsOptions = {}): Promise<ContextWithStats> {
    const res = await this.#call({ method: 'GET', path: contextPath(contextId, options.userId), ok: 200, idempotent: true, signal: options.signal });
    return (res.body as { data: ContextWithStats }).data;
  }

  /**
   * Creates a context (`name` trimmed; omitted → `Conversation <unix-ms>`); emits
   * `CONTEXT_CREATED`. Not retried after a network failure (it could create two).
   */
  async create(name?: string, options: ContextCreateOptions = {}): Promise<HeraldContext> {
    const body: Record<string, unknown> = {};
    if (name !== undefined) body.name = name;
    if (options.contextId !== undefined) body.context_id = options.contextId;
    const query = new URLSearchParams();
    if (options.userId !== undefined) query.set('user_id', options.userId);
    const res = await this.#call({ method: 'POST', path: `/api/v1/core/contexts${queryString(query)}`, body, ok: 201, idempotent: false, signal: options.signal });
    return (res.body as { data: HeraldContext }).data;
  }

  /** Renames a context; emits `CONTEXT_UPDATED`. */
  async rename(contextId: string, name: string, options: ContextsOptions = {}): Promise<HeraldContext> {
    const res = await this.#call({ method: 'PUT', path: contextPath(contextId, options.userId), body: { name }, ok: 200, idempotent: true, signal: options.signal });
    return (res.body as { data: HeraldContext }).data;
  }

  /** Deletes a context; emits `CONTEXT_DELETED`. */
  async delete(contextId: string, options: ContextsOptions = {}): Promise<void> {
    await this.#call({ method: 'DELETE', path: contextPath(contextId, options.userId), ok: 204, idempotent: true, signal: options.signal });
  }
}

function contextPath(contextId: string, userId: string | undefined): string {
  const query = new URLSearchParams();
  if (userId !== undefined) query.set('user_id', userId);
  return `/api/v1/core/contexts/${encodeURIComponent(contextId)}${queryString(query)}`;
}

function queryString(query: URLSearchParams): string {
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

async function readJson(res: Response, spec: CallSpec): Promise<unknown> {
  if (res.status === 204) return undefined;
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HeraldError('bad_response', `${spec.method} ${spec.path} answered ${res.status} with a body that is not JSON`, {
      status: res.status, body: text, requestId: res.headers.get('X-Request-Id') ?? undefined, cause: err,
    });
  }
}

/** The Idempotency-Key of one publish call: the caller's, none, or a fresh random one. */
function idempotencyKeyFor(given: string | false | undefined): string | undefined {
  if (given === false) return undefined;
  if (given !== undefined) return given;
  return newIdempotencyKey();
}

/** 128 random bits as 32 hex digits (crypto.getRandomValues works in insecure contexts too). */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
