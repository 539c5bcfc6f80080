// A recorder around the npm `eventsource` client (the WhatWG EventSource for Node.js): it
// authenticates with `Authorization: Bearer` through the package's `fetch` option, records
// every request it makes (with the Last-Event-ID header the client itself decided to send),
// every open, error, message and named event, and lets a test wait for a condition on them.
import { EventSource } from 'eventsource';
import { withTimeout } from './hub.mjs';

export class RecordingEventSource {
  /**
   * @param {string} url stream URL
   * @param {object} opts
   * @param {string} opts.token bearer token
   * @param {string[]} [opts.named] named event types to record besides `message`
   * @param {(info: {attempt: number, lastEventId: string|undefined}) => void} [opts.onRequest]
   *        called as the client sends each (re)connection request, before the answer
   */
  constructor(url, { token, named = ['heartbeat', 'reset', 'auth_expiring'], onRequest } = {}) {
    this.url = url;
    this.requests = []; // {at, lastEventId}
    this.opens = []; // timestamps
    this.errors = []; // {at, message, code, readyState}
    this.messages = []; // {at, lastEventId, data, json}
    this.named = []; // {at, type, lastEventId, data}
    this.log = []; // every event in arrival order: {kind, ...}
    this.waiters = new Set();
    this.createdAt = Date.now();
    const self = this;
    this.es = new EventSource(url, {
      fetch: (input, init) => {
        const headers = { ...(init?.headers ?? {}) };
        const lastEventId = headers['Last-Event-ID'] ?? headers['last-event-id'];
        const info = { attempt: self.requests.length, lastEventId, at: Date.now() };
        self.requests.push(info);
        self.#notify({ kind: 'request', ...info });
        if (onRequest) onRequest(info);
        return fetch(input, { ...init, headers: { ...headers, Authorization: `Bearer ${token}` } });
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
    for (const w of this.waiters) {
      let done = false;
      try { done = w.predicate(this); } catch (err) { w.reject(err); this.waiters.delete(w); continue; }
      if (done) { w.resolve(this); this.waiters.delete(w); }
    }
  }

  /** Resolves when predicate(this) holds (checked now and after every recorded event). */
  until(predicate, timeoutMs, what) {
    if (predicate(this)) return Promise.resolve(this);
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = { predicate, resolve, reject };
      this.waiters.add(waiter);
    });
    return withTimeout(p, timeoutMs, `${what} on ${this.url}`).finally(() => this.waiters.delete(waiter));
  }

  /** Messages whose data is the wrapped form with this protocol (contexts stream). */
  wrapped(protocol) {
    return this.messages.filter((m) => m.json && m.json.protocol === protocol);
  }

  close() {
    this.es.close();
  }
}
