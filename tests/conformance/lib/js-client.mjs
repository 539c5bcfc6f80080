// Helpers for the tests of Herald's own JS client (clients/js, imported from its build): a fetch
// that records what the client sent and received (it passes every request on to the real hub
// unchanged), and a recorder of one subscription's callbacks with bounded waits on it.
import { Waiters } from './hub.mjs';

export const CLIENT_MODULE = new URL('../../../clients/js/dist/index.js', import.meta.url);
const client = await import(CLIENT_MODULE.href).catch((err) => {
  throw new Error(`the JS client is not built (cd clients/js && npm ci && npm run build): ${err.message}`);
});
export const { HeraldClient, HeraldError, SseParser } = client;

/**
 * A fetch for the client's `fetch` option: calls the global fetch and records each request
 * (`url`, `method`, the `Last-Event-ID`, `Authorization`, `Idempotency-Key` and `Cookie` it
 * carried, the answer's `status`, or the `error`), and each chunk of each answer's body with the
 * time it arrived. `beforeAnswer(entry, res)` may replace the answer (or throw: a lost answer).
 */
export function recordingFetch({ beforeAnswer } = {}) {
  const requests = [];
  const waiters = new Waiters();
  const rec = {
    requests,
    until: (pred, timeoutMs, what) => waiters.wait(rec, pred, timeoutMs, what),
    /** Requests to a path (without query). */
    to: (pathname) => requests.filter((r) => new URL(r.url).pathname === pathname),
  };
  rec.fetch = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    const entry = {
      url: String(input),
      method: init.method ?? 'GET',
      at: Date.now(),
      lastEventId: headers.get('last-event-id') ?? undefined,
      authorization: headers.get('authorization') ?? undefined,
      idempotencyKey: headers.get('idempotency-key') ?? undefined,
      cookie: headers.get('cookie') ?? undefined,
      status: undefined,
      error: undefined,
      chunks: [], // {at, text} of the answer's body
    };
    requests.push(entry);
    waiters.check(rec);
    let res;
    try {
      res = await fetch(input, init);
    } catch (err) {
      entry.error = err;
      waiters.check(rec);
      throw err;
    }
    entry.status = res.status;
    waiters.check(rec);
    if (beforeAnswer) res = (await beforeAnswer(entry, res)) ?? res;
    if (res.body === null) return res;
    const decoder = new TextDecoder();
    const tap = new TransformStream({
      transform(chunk, controller) {
        entry.chunks.push({ at: Date.now(), text: decoder.decode(chunk, { stream: true }) });
        waiters.check(rec);
        controller.enqueue(chunk);
      },
    });
    return new Response(res.body.pipeThrough(tap), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return rec;
}

/**
 * `client.subscribe(stream, …)` with every callback recorded in order in `log`
 * ({kind: 'open'|'event'|'reset'|'error'|'expiring', at, …}); `until(pred)` waits (bounded)
 * for pred(recorder). `options` are passed on (callbacks in it are called too).
 */
export function recordSubscription(heraldClient, stream, options = {}) {
  const waiters = new Waiters();
  const rec = { log: [], events: [], opens: [], resets: [], errors: [], expiring: [] };
  const push = (list, entry) => {
    list.push(entry);
    rec.log.push(entry);
    waiters.check(rec);
  };
  rec.sub = heraldClient.subscribe(stream, {
    ...options,
    onEvent: (event, info) => push(rec.events, { kind: 'event', at: Date.now(), event, id: info.id }),
    onOpen: (info) => push(rec.opens, { kind: 'open', at: Date.now(), ...info }),
    onReset: (info) => push(rec.resets, { kind: 'reset', at: Date.now(), ...info }),
    onError: (error, info) => push(rec.errors, { kind: 'error', at: Date.now(), error, code: error.code, status: error.status, ...info }),
    onAuthExpiring: (info) => push(rec.expiring, { kind: 'expiring', at: Date.now(), ...info }),
  });
  rec.sub.closed.then(() => { rec.closedAt = Date.now(); waiters.check(rec); });
  rec.until = (pred, timeoutMs, what) => waiters.wait(rec, pred, timeoutMs, `${what} (${stream})`).catch((err) => {
    err.message += `; log: ${JSON.stringify(rec.log.map(({ kind, id, code, attempt, reason, lastEventId, event }) => ({ kind, id, code, attempt, reason, lastEventId, type: event?.type ?? event?.event?.type }))).slice(-1500)}`;
    throw err;
  });
  rec.ids = () => rec.events.map((e) => e.id);
  rec.close = () => rec.sub.close();
  return rec;
}
