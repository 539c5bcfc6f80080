// One SSE stream of the hub (SPEC §1.1), read with `fetch` so that a bearer token can be sent
// (a browser's EventSource cannot send headers), kept alive across everything that ends it:
// it reconnects with the Last-Event-ID of the last event it saw (SPEC §4), waits the hub's
// `retry:` (then backs off, with jitter, while attempts keep failing), hands a `reset` to a
// callback and goes on, and reconnects when the stream falls silent for longer than the hub's
// heartbeats allow (a dead peer behind a proxy, a frozen hub, a half-open TCP connection).
import { backoffDelay, resolveBackoff, sleep, type BackoffOptions, type ResolvedBackoff } from './backoff.js';
import { errorFromResponse, HeraldError, networkError } from './errors.js';
import { requestHeaders, type Transport } from './options.js';
import { SseParser, type SseMessage } from './sse-parser.js';
import type { StreamEvents, StreamName } from './types.js';

export type SubscriptionState = 'connecting' | 'open' | 'closed';

/** What comes with each event. */
export interface EventInfo {
  /** The event's SSE id (the position a reconnect resumes after). */
  id: string | undefined;
}

/** Why events may be missing: the hub could not resume from the client's position. */
export interface ResetInfo {
  /**
   * The hub's reason on `agui`/`a2a` (`unknown_history`, `future_id`, `expired`); on `contexts`,
   * which starts over with a fresh `CONTEXTS_SNAPSHOT` instead, `snapshot`.
   */
  reason: string;
  /** The Last-Event-ID the client asked to resume after. */
  lastEventId: string | undefined;
  /** The new position (the stream continues after it). */
  id: string | undefined;
}

export interface OpenInfo {
  /** 0 for the first connection, then 1, 2, … for each reconnect. */
  attempt: number;
  /** The Last-Event-ID this connection resumed from (undefined: a fresh stream). */
  lastEventId: string | undefined;
}

export interface ErrorInfo {
  /** Whether the subscription reconnects (false: it has stopped for good). */
  willRetry: boolean;
  /** The wait before the next attempt, when it retries. */
  delayMs: number | undefined;
  /** The attempt that failed or ended. */
  attempt: number;
}

export interface ReconnectOptions extends BackoffOptions {
  /**
   * Consecutive attempts that open no stream before the subscription gives up (onError with
   * `willRetry: false`). Default: unbounded (it keeps trying at `maxDelayMs`).
   */
  maxAttempts?: number;
}

export interface SubscribeOptions<S extends StreamName> {
  /**
   * Each published event, in order. When it returns a promise the stream waits for it before
   * the next event (the hub buffers meanwhile, and drops a connection that falls too far
   * behind, which then resumes). An exception thrown here is rethrown asynchronously (an
   * uncaught error) and the stream goes on.
   */
  onEvent: (event: StreamEvents[S], info: EventInfo) => void | Promise<void>;
  /**
   * The hub could not resume from the position the client had (its history was wiped, the id is
   * older than retention or unknown): events may be missing. Called before the stream goes on
   * (`contexts` then delivers a fresh `CONTEXTS_SNAPSHOT`); reload state here.
   */
  onReset?: (info: ResetInfo) => void | Promise<void>;
  /** A connection opened (`200 text/event-stream`). */
  onOpen?: (info: OpenInfo) => void;
  /** A connection failed or ended; `info.willRetry` says whether the subscription goes on. */
  onError?: (error: HeraldError, info: ErrorInfo) => void;
  /** The token expires soon (the hub's `auth_expiring`); the stream ends at expiry and reconnects. */
  onAuthExpiring?: (info: { expiresAt: string | undefined }) => void;
  /** Resume after this id (e.g. one kept from an earlier page load). */
  lastEventId?: string;
  /** Only events attributed to this context (SPEC §1.1 `context_id`). */
  contextId?: string;
  /**
   * The hub's `--heartbeat-interval` (ms). Default 15000, the hub's default. 0 turns the
   * watchdog off.
   */
  heartbeatIntervalMs?: number;
  /**
   * The watchdog reconnects when nothing (event, heartbeat, comment) arrived for
   * `heartbeatIntervalMs × missedHeartbeats`, the wait for the answer's head included. Default 3.
   */
  missedHeartbeats?: number;
  /** Reconnect timing. Defaults: 1 s before the hub's `retry:` is known, ×2, ≤ 30 s, 30 % jitter. */
  reconnect?: ReconnectOptions;
  /** Closes the subscription when aborted. */
  signal?: AbortSignal;
}

const DEFAULT_BACKOFF: ResolvedBackoff = { initialDelayMs: 1000, maxDelayMs: 30_000, factor: 2, jitter: 0.3 };
const MAX_EVENTS_PER_READ = 1_000_000; // bounds the loop over one chunk's events

type Outcome =
  | { kind: 'ended'; error: HeraldError } // a stream opened, then ended: resume
  | { kind: 'failed'; error: HeraldError; fatal: boolean } // no stream opened
  | { kind: 'closed' }; // close() or the signal

export class Subscription<S extends StreamName> {
  readonly stream: S;
  /** Resolves once the subscription has stopped for good (close(), its signal, or a fatal error). */
  readonly closed: Promise<void>;

  readonly #transport: Transport;
  readonly #options: SubscribeOptions<S>;
  readonly #url: string;
  readonly #backoff: ResolvedBackoff;
  readonly #maxAttempts: number;
  readonly #watchdogMs: number;
  readonly #parser: SseParser;
  readonly #closing = new AbortController();
  #state: SubscriptionState = 'connecting';
  #serverRetryMs: number | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  /** The id of the last block dispatched to the application (the parser may be ahead of it). */
  #position: string | undefined;
  #removeSignalListener: (() => void) | undefined;

  constructor(transport: Transport, stream: S, options: SubscribeOptions<S>) {
    if (!['agui', 'a2a', 'contexts'].includes(stream)) throw new TypeError(`unknown stream: ${String(stream)}`);
    if (typeof options?.onEvent !== 'function') throw new TypeError('subscribe needs an onEvent callback');
    this.stream = stream;
    this.#transport = transport;
    this.#options = options;
    const query = options.contextId === undefined ? '' : `?context_id=${encodeURIComponent(options.contextId)}`;
    this.#url = `${transport.baseUrl}/api/v1/stream/${stream}${query}`;
    this.#backoff = resolveBackoff(options.reconnect, DEFAULT_BACKOFF);
    this.#maxAttempts = options.reconnect?.maxAttempts ?? Infinity;
    if (!(this.#maxAttempts >= 1)) throw new RangeError('reconnect.maxAttempts must be at least 1');
    const interval = options.heartbeatIntervalMs ?? 15_000;
    const missed = options.missedHeartbeats ?? 3;
    if (!(interval >= 0) || !(missed >= 1)) throw new RangeError('heartbeatIntervalMs must be ≥ 0 and missedHeartbeats ≥ 1');
    this.#watchdogMs = interval * missed;
    this.#parser = new SseParser(options.lastEventId);
    this.#position = options.lastEventId;
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) this.#closing.abort();
      const onAbort = (): void => void this.close();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#removeSignalListener = () => signal.removeEventListener('abort', onAbort);
    }
    this.closed = this.#run();
  }

  /** `connecting` (also while waiting to reconnect), `open`, or `closed` for good. */
  get state(): SubscriptionState {
    return this.#state;
  }

  /**
   * The position a reconnect resumes after: the id of the last event handed to onEvent (or of
   * the cursor the hub gave). Keep it to resume in a later session (`options.lastEventId`).
   */
  get lastEventId(): string | undefined {
    return this.#position;
  }

  /** Stops for good: ends the connection, cancels any wait; resolves once nothing is left running. */
  close(): Promise<void> {
    this.#closing.abort();
    this.#disarmWatchdog();
    return this.closed;
  }

  async #run(): Promise<void> {
    let failures = 0; // consecutive attempts that opened no stream
    try {
      for (let attempt = 0; !this.#closing.signal.aborted; attempt++) {
        this.#attempt = attempt;
        this.#state = 'connecting';
        const outcome = await this.#connect(attempt);
        if (outcome.kind === 'closed' || this.#closing.signal.aborted) break;
        failures = outcome.kind === 'ended' ? 0 : failures + 1;
        const error = outcome.error;
        if ((outcome.kind === 'failed' && outcome.fatal) || failures >= this.#maxAttempts) {
          this.#report(error, { willRetry: false, delayMs: undefined, attempt });
          break;
        }
        const delayMs = this.#delay(failures, error.retryAfterMs);
        this.#report(error, { willRetry: true, delayMs, attempt });
        await sleep(delayMs, this.#closing.signal);
      }
    } finally {
      this.#state = 'closed';
      this.#disarmWatchdog();
      this.#removeSignalListener?.();
    }
  }

  /**
   * The hub's `retry:` (else initialDelayMs) after a stream ended or a first failure, ×factor for
   * each further failure in a row, at least any Retry-After, at most maxDelayMs.
   */
  #delay(failures: number, retryAfterMs: number | undefined): number {
    const base = Math.min(this.#serverRetryMs ?? this.#backoff.initialDelayMs, this.#backoff.maxDelayMs);
    const delay = backoffDelay(this.#backoff, base, Math.max(0, failures - 1));
    return Math.min(Math.max(delay, retryAfterMs ?? 0), this.#backoff.maxDelayMs);
  }

  async #connect(attempt: number): Promise<Outcome> {
    const ctl = new AbortController();
    const onClose = (): void => ctl.abort();
    this.#closing.signal.addEventListener('abort', onClose, { once: true });
    let timedOut = false;
    const arm = (): void => {
      this.#disarmWatchdog();
      if (this.#watchdogMs > 0 && !ctl.signal.aborted) {
        this.#watchdog = setTimeout(() => {
          timedOut = true;
          ctl.abort();
        }, this.#watchdogMs);
      }
    };
    // Why a fetch or a read failed: the watchdog, close(), or the network.
    const why = (err: unknown, what: string): HeraldError | undefined => {
      if (this.#closing.signal.aborted) return undefined;
      if (timedOut) {
        return new HeraldError('heartbeat_timeout', `nothing arrived on the ${this.stream} stream for ${this.#watchdogMs} ms`);
      }
      return networkError(err, what);
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      const sentId = this.#position;
      let headers: Headers;
      try {
        headers = await requestHeaders(this.#transport, {
          Accept: 'text/event-stream',
          ...(sentId === undefined ? {} : { 'Last-Event-ID': sentId }),
        });
      } catch (err) {
        if (this.#closing.signal.aborted) return { kind: 'closed' };
        // A token function that failed may work next time (its auth server was down, say).
        const error = err instanceof HeraldError ? err : new HeraldError('token_error', String(err), { cause: err });
        return { kind: 'failed', error, fatal: false };
      }
      if (this.#closing.signal.aborted) return { kind: 'closed' };
      arm(); // the wait for the answer's head counts as silence too
      let res: Response;
      try {
        res = await this.#transport.fetch(this.#url, {
          headers,
          credentials: this.#transport.credentials,
          cache: 'no-store',
          signal: ctl.signal,
        });
      } catch (err) {
        const error = why(err, `connecting to ${this.#url}`);
        return error === undefined ? { kind: 'closed' } : { kind: 'failed', error, fatal: false };
      }
      if (res.status !== 200) {
        this.#disarmWatchdog();
        const error = await errorFromResponse(res);
        return { kind: 'failed', error, fatal: this.#isFatal(res.status) };
      }
      const type = res.headers.get('Content-Type') ?? '';
      if (!/^text\/event-stream\b/i.test(type) || res.body === null) {
        this.#disarmWatchdog();
        await res.body?.cancel().catch(() => undefined);
        return { kind: 'failed', error: new HeraldError('bad_response', `${this.#url} answered 200 with Content-Type "${type}", not an event stream`, { status: 200 }), fatal: true };
      }
      this.#parser.reset();
      this.#state = 'open';
      await this.#call(() => this.#options.onOpen?.({ attempt, lastEventId: sentId }));
      reader = res.body.getReader();
      const decoder = new TextDecoder();
      // A resumed contexts stream that starts with a snapshot could not resume (SPEC §4).
      let snapshotMeansReset = this.stream === 'contexts' && sentId !== undefined;
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          const error = why(err, `reading the ${this.stream} stream`);
          return error === undefined ? { kind: 'closed' } : { kind: 'ended', error };
        }
        if (chunk.done) {
          // Herald never ends a stream cleanly (docs/DECISIONS.md "Wire"); a proxy might.
          return { kind: 'ended', error: new HeraldError('network_error', `the ${this.stream} stream ended`) };
        }
        this.#disarmWatchdog(); // the application's handlers' time is not the hub's silence
        const fed = this.#parser.feed(decoder.decode(chunk.value, { stream: true }));
        if (fed.retryMs !== undefined) this.#serverRetryMs = fed.retryMs;
        for (let i = 0; i < fed.messages.length && i < MAX_EVENTS_PER_READ; i++) {
          if (this.#closing.signal.aborted) return { kind: 'closed' };
          const message = fed.messages[i] as SseMessage;
          if (snapshotMeansReset && message.event === 'message') {
            snapshotMeansReset = false;
            if (isSnapshot(message.data)) {
              await this.#call(() => this.#options.onReset?.({ reason: 'snapshot', lastEventId: sentId, id: message.id }));
            }
          }
          await this.#dispatch(message, sentId);
          this.#position = message.id;
        }
        if (this.#closing.signal.aborted) return { kind: 'closed' };
        this.#position = fed.lastEventId; // id-only blocks move it too
        arm();
      }
    } finally {
      this.#closing.signal.removeEventListener('abort', onClose);
      this.#disarmWatchdog();
      ctl.abort(); // releases the connection if the body was not read to its end
      if (reader !== undefined) await reader.cancel().catch(() => undefined);
    }
  }

  /** Statuses after which trying again cannot help (a token function may fix a 401/403). */
  #isFatal(status: number): boolean {
    if (status === 401 || status === 403) return typeof this.#transport.token !== 'function';
    return status >= 400 && status < 500 && status !== 408 && status !== 429;
  }

  async #dispatch(message: SseMessage, sentId: string | undefined): Promise<void> {
    switch (message.event) {
      case 'message': {
        let event: StreamEvents[S];
        try {
          event = JSON.parse(message.data) as StreamEvents[S];
        } catch (err) {
          this.#report(new HeraldError('bad_response', `an event on the ${this.stream} stream is not JSON (id ${message.id ?? 'none'})`, { cause: err }), {
            willRetry: true, delayMs: undefined, attempt: this.#attempt,
          });
          return;
        }
        await this.#call(() => this.#options.onEvent(event, { id: message.id }));
        return;
      }
      case 'reset': {
        const reason = parseField(message.data, 'reason') ?? 'unknown';
        await this.#call(() => this.#options.onReset?.({ reason, lastEventId: sentId, id: message.id }));
        return;
      }
      case 'auth_expiring':
        await this.#call(() => this.#options.onAuthExpiring?.({ expiresAt: parseField(message.data, 'expiresAt') }));
        return;
      default:
        // `connected` (its id is already the position), `heartbeat` (it fed the watchdog),
        // and named events of later hubs.
        return;
    }
  }

  /** Runs an application callback; what it throws is rethrown asynchronously, the stream goes on. */
  async #call(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #report(error: HeraldError, info: ErrorInfo): void {
    void this.#call(() => this.#options.onError?.(error, info));
  }

  #disarmWatchdog(): void {
    if (this.#watchdog !== undefined) {
      clearTimeout(this.#watchdog);
      this.#watchdog = undefined;
    }
  }
}

function isSnapshot(data: string): boolean {
  try {
    const parsed = JSON.parse(data) as { protocol?: unknown; event?: { type?: unknown } };
    return parsed?.protocol === 'system' && parsed.event?.type === 'CONTEXTS_SNAPSHOT';
  } catch {
    return false;
  }
}

function parseField(data: string, field: string): string | undefined {
  try {
    const value = (JSON.parse(data) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
