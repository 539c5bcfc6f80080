// fetch-based SSE clients, the kind a front-end writes when it needs an Authorization header
// (which a browser's EventSource cannot send): `fetch` the stream, parse the body with an SSE
// parser, reconnect with Last-Event-ID. Such a client tells a stream that failed (a read error:
// retry) from one that ended cleanly (`done: true`: the server finished, stop for good); Herald
// never ends a stream cleanly, so every end it makes must look like the former.
//
// `SseRecording` is what the tests read off any such client: the requests it made (with the
// Last-Event-ID and Authorization it chose to send), the connections it got and how each ended,
// and every event it dispatched. `FetchSseClient` is a client written the way the original
// front-end wrote its own, on `eventsource-parser`; test files adapt other libraries to the same
// recording (fetch-clients.test.mjs does @microsoft/fetch-event-source).
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { Waiters, newGate, withTimeout } from './hub.mjs';

/** A short description of why a fetch or a read failed, e.g. "TypeError: terminated: ECONNRESET". */
export function describeError(err) {
  const cause = err?.cause;
  return [err?.name, err?.message, cause?.code ?? cause?.message].filter(Boolean).join(': ');
}

const TAIL_BYTES = 120; // the end of the last chunk read, kept to show where a stream was cut

export class SseRecording {
  constructor(url) {
    this.url = url;
    this.createdAt = Date.now();
    this.requests = []; // {attempt, at, lastEventId, authorization, status, error}
    this.connections = []; // {attempt, openedAt, end: undefined | 'error' | 'clean' | 'aborted', endedAt, error}
    this.events = []; // {at, connection, id, event, data, json}: every event dispatched, named ones too
    this.log = []; // requests, opens, ends and events in the order they happened: {kind, ...}
    this.outcome = undefined; // why the client stopped: 'clean' | 'gave-up' | 'closed' | 'rejected'
    this.gate = newGate(); // reading stops while it is paused
    this.waiters = new Waiters();
  }

  notify(entry) {
    this.log.push(entry);
    this.waiters.check(this);
  }

  /** Resolves when predicate(this) holds (checked now and after every recorded entry). */
  until(predicate, timeoutMs, what) {
    return this.waiters.wait(this, predicate, timeoutMs, `${what} on ${this.url}`).catch((err) => {
      if (this.outcome !== undefined) err.message += ` (the client had stopped: ${this.outcome} ${this.failure ?? ''})`;
      throw err;
    });
  }

  /** Records a (re)connection request about to be sent; returns its entry (filled in later). */
  recordRequest({ attempt, lastEventId, authorization }) {
    const req = { attempt, at: Date.now(), lastEventId, authorization, status: undefined, error: undefined };
    this.requests.push(req);
    this.notify({ kind: 'request', ...req });
    return req;
  }

  requestFailed(req, err) {
    req.error = describeError(err);
    this.notify({ kind: 'request-failed', attempt: req.attempt, error: req.error });
  }

  answered(req, status) {
    req.status = status;
    this.notify({ kind: 'answer', attempt: req.attempt, status });
  }

  openConnection(attempt) {
    const conn = { attempt, openedAt: Date.now(), end: undefined, endedAt: undefined, error: undefined, bytes: 0, tail: undefined };
    this.connections.push(conn);
    this.notify({ kind: 'open', attempt });
    return conn;
  }

  endConnection(conn, end, err) {
    if (conn.end !== undefined) return;
    conn.end = end;
    conn.endedAt = Date.now();
    if (err !== undefined) conn.error = describeError(err);
    this.notify({ kind: 'end', attempt: conn.attempt, end, error: conn.error });
  }

  recordEvent(conn, { id, event, data }) {
    let json;
    try { json = JSON.parse(data); } catch { json = undefined; }
    const e = { at: Date.now(), connection: conn?.attempt, id, event: event || 'message', data, json };
    this.events.push(e);
    this.notify({ kind: 'event', ...e });
  }

  stopped(outcome, err) {
    this.outcome = outcome;
    if (err !== undefined) this.failure = err;
    this.notify({ kind: 'stopped', outcome });
  }

  /** Ids of the plain (unnamed) events, i.e. the published ones, in arrival order. */
  deliveredIds() {
    return this.events.filter((e) => e.event === 'message').map((e) => e.id);
  }

  /** The named events of one type (`connected`, `heartbeat`, `auth_expiring`, `reset`). */
  named(type) {
    return this.events.filter((e) => e.event === type);
  }

  /** Stops reading: the client becomes a slow consumer until resume(). */
  pause() { this.gate.pause(); }

  resume() { this.gate.resume(); }

  /**
   * `res` with a body read through the gate and whose end is recorded on `conn`: 'clean' when
   * the body ends (`done`), 'error' when reading it fails, 'aborted' when `signal` aborted it.
   * For clients that read the body themselves (a library given this through its `fetch` option).
   */
  recordedResponse(res, conn, signal) {
    const reader = res.body.getReader();
    const gate = this.gate;
    const body = new ReadableStream({
      pull: async (controller) => {
        await gate.open;
        let chunk;
        try {
          chunk = await reader.read();
        } catch (err) {
          this.endConnection(conn, signal?.aborted ? 'aborted' : 'error', err);
          controller.error(err);
          return;
        }
        // A chunk read just before a pause is held back too: nothing reaches the parser while paused.
        await gate.open;
        if (chunk.done) {
          this.endConnection(conn, 'clean');
          controller.close();
        } else {
          conn.bytes += chunk.value.byteLength;
          conn.tail = chunk.value.subarray(-TAIL_BYTES);
          controller.enqueue(chunk.value);
        }
      },
      cancel: (reason) => {
        this.endConnection(conn, 'aborted');
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }
}

function delay(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) { resolve(); return; }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

// Bounds that a test never reaches; they only make every loop finite.
const MAX_EVENTS_PER_CONNECTION = 1_000_000;

/**
 * The original front-end's client: `fetch(url, {headers: {Authorization, Accept, Last-Event-ID}})`,
 * `res.body` through `eventsource-parser`'s EventSourceParserStream, the id of the last event
 * remembered. It reconnects only on an error (fetch rejected, a non-2xx answer, or the body's
 * read failed), after `retryDelayMs`; a clean end of the body stops it for good (outcome
 * 'clean'). It gives up after `maxFailures` attempts in a row that did not open a stream, or
 * `maxConnections` attempts in all (outcome 'gave-up').
 *
 * @param {string} url stream URL
 * @param {object} opts
 * @param {(attempt: number) => string|Promise<string>} opts.getToken the bearer token for each attempt
 * @param {(req: object) => void|Promise<void>} [opts.onRequest] called with each request's entry
 *        before it is sent; the request waits for what it returns
 */
export class FetchSseClient extends SseRecording {
  constructor(url, { getToken, onRequest, retryDelayMs = 200, maxFailures = 50, maxConnections = 100 } = {}) {
    super(url);
    this.getToken = getToken;
    this.onRequest = onRequest;
    this.retryDelayMs = retryDelayMs;
    this.maxFailures = maxFailures;
    this.maxConnections = maxConnections;
    this.lastEventId = undefined;
    this.closing = new AbortController();
    this.current = undefined; // the AbortController of the request in flight
    this.done = this.#run();
  }

  async #run() {
    try {
      await this.#retryLoop();
    } catch (err) { // getToken or onRequest threw: recorded, so that a test's wait says why
      this.stopped('rejected', err);
    }
  }

  async #retryLoop() {
    let failures = 0;
    for (let attempt = 0; attempt < this.maxConnections; attempt++) {
      if (this.closing.signal.aborted) break;
      const result = await this.#connect(attempt);
      if (this.closing.signal.aborted) break;
      if (result === 'clean') return this.stopped('clean'); // the server ended the stream: done
      failures = result === 'opened' ? 0 : failures + 1;
      if (failures >= this.maxFailures) return this.stopped('gave-up');
      await delay(this.retryDelayMs, this.closing.signal);
    }
    return this.stopped(this.closing.signal.aborted ? 'closed' : 'gave-up');
  }

  /** One request: 'clean' (the body ended), 'opened' (a stream opened, then failed), 'failed'. */
  async #connect(attempt) {
    const token = await this.getToken(attempt);
    const headers = { Accept: 'text/event-stream' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (this.lastEventId !== undefined) headers['Last-Event-ID'] = this.lastEventId;
    const req = this.recordRequest({ attempt, lastEventId: this.lastEventId, authorization: headers.Authorization });
    if (this.onRequest) await this.onRequest(req);
    const ctl = new AbortController();
    this.current = ctl;
    if (this.closing.signal.aborted) ctl.abort();
    let res;
    try {
      res = await fetch(this.url, { headers, signal: ctl.signal });
    } catch (err) {
      this.requestFailed(req, err);
      return 'failed';
    }
    this.answered(req, res.status);
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => {});
      return 'failed';
    }
    const conn = this.openConnection(attempt);
    const events = res.body
      .pipeThrough(new TransformStream({
        transform(chunk, controller) {
          conn.bytes += chunk.byteLength;
          conn.tail = chunk.subarray(-TAIL_BYTES);
          controller.enqueue(chunk);
        },
      }))
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .getReader();
    try {
      for (let n = 0; n < MAX_EVENTS_PER_CONNECTION; n++) {
        await this.gate.open;
        const { done, value } = await events.read();
        if (done) {
          this.endConnection(conn, 'clean');
          return 'clean';
        }
        if (value.id !== undefined) this.lastEventId = value.id;
        this.recordEvent(conn, value);
      }
      throw new Error(`more than ${MAX_EVENTS_PER_CONNECTION} events on one connection`);
    } catch (err) {
      this.endConnection(conn, ctl.signal.aborted ? 'aborted' : 'error', err);
      return 'opened';
    }
  }

  /** Stops the client for good: aborts the request in flight and any wait for a retry. */
  async close() {
    this.closing.abort();
    this.current?.abort();
    this.gate.resume();
    await withTimeout(this.done, 5_000, `the fetch client of ${this.url} to stop`);
  }
}
