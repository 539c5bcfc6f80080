// A recorder around the npm `eventsource` client (the WhatWG EventSource for Node.js): it
// authenticates with `Authorization: Bearer` (or, with `cookie`, only with the `access_token`
// cookie) through the package's `fetch` option, records every request it makes (with the
// Last-Event-ID header the client itself decided to send, and the answer's status), every open,
// error, message and named event, and lets a test wait for a condition on them. With `throttle`
// the body of the current response can be paused and released, as a consumer that stops reading.
import { EventSource } from 'eventsource';
import { Waiters, newGate } from './hub.mjs';

/**
 * A response whose body the test can pause: while paused nothing more is read from undici's
 * body, so undici stops reading the socket once its small buffer is full, and the hub's writes
 * fill the kernel buffers, then its outbox; releasing lets the client read on. One gate per
 * response, so a pause never carries over to the client's next connection.
 */
function gatedResponse(res, gate) {
  const reader = res.body.getReader();
  const body = new ReadableStream({
    async pull(controller) {
      await gate.open;
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        controller.error(err);
        return;
      }
      // A chunk read just before a pause is held back too: nothing reaches the parser while paused.
      await gate.open;
      if (chunk.done) controller.close(); else controller.enqueue(chunk.value);
    },
    cancel(reason) { return reader.cancel(reason); },
  }, { highWaterMark: 0 });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

export class RecordingEventSource {
  /**
   * @param {string} url stream URL
   * @param {object} opts
   * @param {string} [opts.token] bearer token, sent as `Authorization: Bearer`
   * @param {string} [opts.cookie] token sent only as the cookie `access_token` (browser-style auth)
   * @param {boolean} [opts.throttle] wrap each response body so that pauseBody()/resumeBody()
   *        can stop and restart the reading of the current connection
   * @param {string[]} [opts.named] named event types to record besides `message`
   * @param {(info: {attempt: number, lastEventId: string|undefined}) => void|Promise<void>} [opts.onRequest]
   *        called as the client makes each (re)connection request; the request is sent once
   *        what it returns has settled
   */
  constructor(url, { token, cookie, throttle = false, named = ['connected', 'heartbeat', 'reset', 'auth_expiring'], onRequest } = {}) {
    this.url = url;
    this.requests = []; // {attempt, at, lastEventId, authorization, cookie, status, error}
    this.opens = []; // timestamps
    this.errors = []; // {at, message, code, readyState}
    this.messages = []; // {at, lastEventId, data, json}
    this.named = []; // {at, type, lastEventId, data}
    this.log = []; // every event in arrival order: {kind, ...}
    this.waiters = new Waiters();
    this.createdAt = Date.now();
    this.gate = null; // the current response's gate (throttle)
    const self = this;
    this.es = new EventSource(url, {
      fetch: async (input, init) => {
        const headers = { ...(init?.headers ?? {}) };
        const lastEventId = headers['Last-Event-ID'] ?? headers['last-event-id'];
        if (token !== undefined) headers.Authorization = `Bearer ${token}`;
        if (cookie !== undefined) headers.Cookie = `access_token=${cookie}`;
        const info = {
          attempt: self.requests.length, lastEventId, at: Date.now(),
          authorization: headers.Authorization, cookie: headers.Cookie, status: undefined, error: undefined,
        };
        self.requests.push(info);
        self.#notify({ kind: 'request', ...info });
        if (onRequest) await onRequest(info);
        let res;
        try {
          res = await fetch(input, { ...init, headers });
        } catch (err) {
          info.error = err?.cause?.code ?? err?.message ?? String(err);
          throw err;
        }
        info.status = res.status;
        if (!throttle || !res.body) return res;
        self.gate = newGate();
        return gatedResponse(res, self.gate);
      },
    });
    this.es.addEventListener('open', () => {
      this.opens.push(Date.now());
      this.#notify({ kind: 'open' });
    });
    this.es.addEventListener('error', (ev) => {
      const e = { at: Date.now(), message: ev?.message, code: ev?.code, readyState: this.es.readyState };
      this.errors.push(e);
      this.#notify({ kind: 'error', ...e });
    });
    this.es.onmessage = (ev) => {
      let json;
      try { json = JSON.parse(ev.data); } catch { json = undefined; }
      const m = { at: Date.now(), type: ev.type, lastEventId: ev.lastEventId, data: ev.data, json };
      this.messages.push(m);
      this.#notify({ kind: 'message', ...m });
    };
    for (const type of named) {
      this.es.addEventListener(type, (ev) => {
        const n = { at: Date.now(), type, lastEventId: ev.lastEventId, data: ev.data };
        this.named.push(n);
        this.#notify({ kind: 'named', ...n });
      });
    }
  }

  #notify(entry) {
    this.log.push(entry);
    this.waiters.check(this);
  }

  /** Resolves when predicate(this) holds (checked now and after every recorded event). */
  until(predicate, timeoutMs, what) {
    return this.waiters.wait(this, predicate, timeoutMs, `${what} on ${this.url}`);
  }

  /** Messages whose data is the wrapped form with this protocol (contexts stream). */
  wrapped(protocol) {
    return this.messages.filter((m) => m.json && m.json.protocol === protocol);
  }

  /** Stops reading the current connection's body (throttle): the client becomes a slow consumer. */
  pauseBody() {
    if (!this.gate) throw new Error('pauseBody needs { throttle: true } and an open response');
    this.gate.pause();
  }

  /** Lets the paused connection's body be read again. */
  resumeBody() {
    this.gate?.resume();
  }

  close() {
    this.gate?.resume();
    this.es.close();
  }
}
