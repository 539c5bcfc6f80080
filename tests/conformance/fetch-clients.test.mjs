// fetch-based clients stay live however the hub ends their stream. Herald's streams are chunked
// and the hub never sends the last chunk, so a drain (SIGTERM, then a new hub on the same port
// and data dir), an eviction as a slow consumer, an admin disconnect and a token's expiry each
// leave the body incomplete: the client's read fails, and a client that retries only on an
// error reconnects with its Last-Event-ID. A clean end would stop it for good.
//
// Two such clients, each through all four: the original front-end's (fetch + eventsource-parser,
// lib/fetch-client.mjs) and @microsoft/fetch-event-source with its default behaviour (no onopen,
// onclose or onerror: a clean end resolves its promise for good, an error retries after the
// `retry:` interval with the `last-event-id` it tracks itself). Each must get every published
// event exactly once, in order, and no connection may end cleanly.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fetchEventSource } from '@microsoft/fetch-event-source';
import {
  startHub, startHubOnPort, publishFillerBatch, publishOk, uniqueId, parseEventId, metric, withTimeout, useHub,
} from './lib/hub.mjs';
import { FetchSseClient, SseRecording } from './lib/fetch-client.mjs';

// @microsoft/fetch-event-source 2.0.1 is written for browsers: it schedules retries with
// `window.setTimeout`/`window.clearTimeout`, and its dispose() (on abort and on a clean end)
// calls `document.removeEventListener('visibilitychange', …)` even with `openWhenHidden: true`.
// Node.js 20 has neither global, so this file (its own process under `node --test`) gives it the
// minimal ones: `window` is the global object (its timers), `document` a visible page whose
// listeners are never called. Without them a clean end would throw inside the library and be
// retried as an error, hiding exactly what these tests look for.
globalThis.window ??= globalThis;
globalThis.document ??= { hidden: false, addEventListener() {}, removeEventListener() {} };

/**
 * @microsoft/fetch-event-source adapted to SseRecording. Options passed: `openWhenHidden` (no
 * page here), `signal` (to stop it at the end of a test), `onmessage`, and `fetch`, which only
 * sets the Authorization header from getToken() on each attempt (the library copies its
 * `headers` option once into its own object, on which it keeps `last-event-id`, so the option
 * cannot carry a refreshed token), records the request, and hands the library the response
 * with its body read through the recording (pause, how it ended). Its retries, its retry
 * interval and its Last-Event-ID are the library's own.
 */
class FetchEventSourceClient extends SseRecording {
  constructor(url, { getToken, onRequest } = {}) {
    super(url);
    this.closing = new AbortController();
    let conn;
    this.done = fetchEventSource(url, {
      openWhenHidden: true,
      signal: this.closing.signal,
      fetch: async (input, init) => {
        const attempt = this.requests.length;
        const headers = { ...init.headers, Authorization: `Bearer ${await getToken(attempt)}` };
        const req = this.recordRequest({ attempt, lastEventId: headers['last-event-id'], authorization: headers.Authorization });
        if (onRequest) await onRequest(req);
        let res;
        try {
          res = await fetch(input, { ...init, headers });
        } catch (err) {
          this.requestFailed(req, err);
          throw err;
        }
        this.answered(req, res.status);
        if (!res.ok || !res.body) return res;
        conn = this.openConnection(attempt);
        return this.recordedResponse(res, conn, init.signal);
      },
      // The library dispatches at every blank line, also the empty messages that a lone
      // `retry:` or comment block makes; an EventSource dispatches no event without data.
      onmessage: (msg) => {
        if (msg.data === '') return;
        this.recordEvent(conn, { id: msg.id || undefined, event: msg.event, data: msg.data });
      },
    }).then(
      () => this.stopped(this.closing.signal.aborted ? 'closed' : 'clean'),
      (err) => this.stopped('rejected', err),
    );
  }

  async close() {
    this.closing.abort();
    this.gate.resume();
    await withTimeout(this.done, 5_000, `fetch-event-source on ${this.url} to stop`);
  }
}

const CLIENTS = [
  {
    name: 'fetch + eventsource-parser (reconnects only on an error)',
    open: (url, opts) => new FetchSseClient(url, opts),
  },
  {
    name: '@microsoft/fetch-event-source (default options)',
    open: (url, opts) => new FetchEventSourceClient(url, opts),
  },
];

const textEvent = (user, tag) => ({ user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: `${user}-m`, delta: `token ${tag}` });

const opened = (c, n) => c.connections.length >= n;

/**
 * Every event exactly once, in order. On a gap, says which reconnect asked to resume after an id
 * the client had not dispatched, and where that connection's bytes had been cut.
 */
function assertExactlyOnceInOrder(c, expected, what) {
  const got = c.deliveredIds();
  const dupes = got.filter((id, i) => got.indexOf(id) !== i);
  assert.deepEqual(dupes, [], `${what}: no duplicate`);
  const missing = expected.filter((id) => !got.includes(id));
  assert.deepEqual(missing, [], `${what}: no gap${missing.length ? resumeMismatches(c) : ''}`);
  assert.deepEqual(got, expected, `${what}: every event exactly once, in publish order`);
  const seqs = got.map((id) => parseEventId(id).seq);
  assert.ok(seqs.every((q, i) => i === 0 || q > seqs[i - 1]), `${what}: ids strictly increase`);
}

/** Each reconnect request with the Last-Event-ID it sent and the id of the last event dispatched before it. */
function reconnects(c) {
  let last;
  const out = [];
  for (const entry of c.log) {
    if (entry.kind === 'event' && entry.id !== undefined) last = entry.id;
    if (entry.kind === 'request' && entry.attempt > 0) out.push({ attempt: entry.attempt, sent: entry.lastEventId, dispatched: last });
  }
  return out;
}

function resumeMismatches(c) {
  return reconnects(c).filter((r) => r.sent !== r.dispatched).map((r) => {
    const before = c.connections.filter((x) => x.attempt < r.attempt).at(-1);
    return `; request #${r.attempt} sent Last-Event-ID ${r.sent} but the last event it dispatched was ${r.dispatched}` +
      (before ? ` (connection #${before.attempt} ended '${before.end}' after ${before.bytes} bytes, the last ending ${cutAt(before)})` : '');
  }).join('');
}

/**
 * The client stayed live on its own: more than one connection, none ended cleanly, it has not
 * stopped, no reset.
 */
function assertStayedLive(c, what) {
  assert.ok(c.connections.length >= 2, `${what}: reconnected (${c.connections.length} connections)`);
  assert.deepEqual(c.connections.filter((x) => x.end === 'clean'), [], `${what}: no connection ended cleanly`);
  assert.equal(c.outcome, undefined, `${what}: the client never stopped (${c.outcome}) ${c.failure ?? ''}`);
  assert.equal(c.named('reset').length, 0, `${what}: no reset on a resume within the same history`);
}

/**
 * Every reconnect request carried as Last-Event-ID the id of the last event the client had
 * dispatched before it (its own cursor: the `connected` event's or an event's), the first none.
 * Returns those ids.
 */
function assertResumedFromOwnCursor(c, what) {
  assert.equal(c.requests[0].lastEventId, undefined, `${what}: the first request has no Last-Event-ID`);
  for (const r of reconnects(c)) {
    assert.equal(r.sent, r.dispatched, `${what}: request #${r.attempt} sends Last-Event-ID = the id of the last event it dispatched${resumeMismatches(c)}`);
  }
  return reconnects(c).map((r) => r.sent);
}

/** The last bytes a connection delivered, as a JSON string with runs of filler shortened. */
const cutAt = (conn) => JSON.stringify(Buffer.from(conn.tail ?? []).toString('utf8').replace(/x{8,}/g, 'xxx…xxx'));

const connectionsOf = (c) => JSON.stringify({
  requests: c.requests,
  connections: c.connections.map(({ tail: _t, ...conn }) => conn),
});

for (const kind of CLIENTS) {
  describe(`${kind.name}: drain (SIGTERM), then a new hub on the same port and data dir`, () => {
    let dataDir;
    let hubA;
    let hubB;
    const clients = [];
    before(() => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'herald-conf-fetch-drain-'));
    });
    after(async () => {
      for (const c of clients.splice(0)) await c.close().catch(() => {});
      await hubA?.stop();
      await hubB?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('the client notices the drain as an error, retries until the new hub answers, resumes with its Last-Event-ID and gets the events published before and after the restart exactly once, in order', async (t) => {
      const N = 8; // published before the drain
      const M = 8; // published to the new hub
      const secret = randomBytes(24).toString('hex');
      const extraArgs = ['--drain-window', '1'];
      hubA = await startHub({ dataDir, secret, extraArgs });
      const user = uniqueId('fdrain');
      const token = hubA.token(user, { ttl: 600 }); // the same secret: valid on both hubs
      const c = kind.open(`${hubA.url}/api/v1/stream/agui`, { getToken: () => token });
      clients.push(c);
      await c.until((x) => x.named('connected').length === 1, 5_000, 'the connected event');

      const expected = [];
      for (let i = 0; i < N; i++) expected.push(await publishOk(hubA, 'agui', textEvent(user, `before-${i}`), { token }));
      await c.until((x) => x.deliveredIds().length >= expected.length, 5_000, 'the events before the drain');

      await hubA.stop(); // SIGTERM: the hub drains its streams and exits
      assert.equal(hubA.exitCode, 0, `the drained hub exits 0:\n${hubA.output}`);
      await c.until((x) => x.connections[0].end !== undefined, 5_000, 'the end of the first stream');
      assert.equal(c.connections[0].end, 'error', `the drained stream ended with a read error, not cleanly: ${connectionsOf(c)}`);

      // The new hub starts only once the client has tried and failed to reach the port.
      await c.until((x) => x.requests.some((r) => r.attempt > 0 && r.error !== undefined), 10_000, 'a reconnect refused while no hub listens');
      hubB = await startHubOnPort(hubA.port, { dataDir, secret, extraArgs });
      for (let i = 0; i < M; i++) expected.push(await publishOk(hubB, 'agui', textEvent(user, `after-${i}`), { token }));
      await c.until((x) => x.deliveredIds().includes(expected.at(-1)), 15_000, `all ${expected.length} events`);
      // A marker published last: once it arrived, any duplicate would have arrived before it.
      expected.push(await publishOk(hubB, 'agui', textEvent(user, 'marker'), { token }));
      await c.until((x) => x.deliveredIds().includes(expected.at(-1)), 5_000, 'the marker');

      assert.equal(parseEventId(expected.at(-1)).history, parseEventId(expected[0]).history, 'the new hub continues the same history');
      assertStayedLive(c, 'after the drain');
      assertExactlyOnceInOrder(c, expected, 'after the drain');
      const sent = assertResumedFromOwnCursor(c, 'after the drain');
      assert.ok(sent.every((id) => id === expected[N - 1]), `every reconnect resumed from the last event before the drain (${expected[N - 1]}): ${JSON.stringify(sent)}`);
      assert.ok(c.requests.slice(1, -1).every((r) => r.error !== undefined), `reconnects before the new hub listened were refused: ${connectionsOf(c)}`);
      assert.equal(c.requests.at(-1).status, 200, 'the last reconnect was accepted');
      t.diagnostic(`drain: ${c.requests.length} requests (${c.requests.filter((r) => r.error).length} refused while no hub listened), ${c.connections.length} connections, first end: ${c.connections[0].error}`);
    });
  });

  describe(`${kind.name}: eviction as a slow consumer`, () => {
    // As in reconnect.test.mjs: bounds a reading client never reaches (the test publishes one
    // batch of 8 × 32 KiB at a time and waits until the reading client has it), while a client
    // that stopped reading fills its kernel buffers, then its outbox, and is evicted.
    const MAX_FRAMES = 16;
    const MAX_BYTES = 512 * 1024;
    const BATCH = 8;
    const EVENT_BYTES = 32 * 1024;
    const MAX_BATCHES = 160; // ~40 MiB at most before the test gives up on seeing an eviction
    const SLOW = 'herald_disconnects_total{reason="slow_consumer"}';
    let hub;
    const clients = useHub({
      extraArgs: ['--outbox-max-frames', String(MAX_FRAMES), '--outbox-max-bytes', String(MAX_BYTES)],
    }, (started) => { hub = started; });

    it('a client that stops reading is evicted while a reading one is not; reading again, it sees an error, reconnects with its Last-Event-ID and gets every event exactly once, in order', async (t) => {
      const user = uniqueId('fslow');
      const token = hub.token(user);
      const url = `${hub.url}/api/v1/stream/agui`;
      const slow = kind.open(url, { getToken: () => token });
      const reader = kind.open(url, { getToken: () => token });
      clients.push(slow, reader);
      await Promise.all([slow, reader].map((c) => c.until((x) => x.named('connected').length === 1, 5_000, 'the connected event')));

      const expected = [];
      for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `small-${i}`), { token }));
      await Promise.all([slow, reader].map((c) => c.until((x) => x.deliveredIds().length >= 5, 5_000, 'the first events')));
      const slowBefore = await metric(hub, SLOW);

      slow.pause();
      const filler = 'x'.repeat(EVENT_BYTES);
      let batches = 0;
      const publishBatch = async () => {
        expected.push(...await publishFillerBatch(hub, { user, token, count: BATCH, filler, tag: batches }));
        batches += 1;
        // Paced on the reading client: its outbox never holds more than this one batch.
        await reader.until((x) => x.deliveredIds().length >= expected.length, 10_000, `batch ${batches} on the reading client`);
      };
      let evictedAfterBatch = 0;
      for (let b = 0; b < MAX_BATCHES && !evictedAfterBatch; b++) {
        await publishBatch();
        if (await metric(hub, SLOW) > slowBefore) evictedAfterBatch = batches;
      }
      assert.ok(evictedAfterBatch > 0,
        `the paused client was evicted (${batches} batches, ${(batches * BATCH * EVENT_BYTES / 2 ** 20).toFixed(1)} MiB published)`);
      // Two more batches while the evicted client is away: they can only reach it by replay.
      await publishBatch();
      await publishBatch();
      assert.equal(slow.requests.length, 1, 'no reconnect while the client is not reading');
      assert.equal(slow.connections[0].end, undefined, 'a client that is not reading has not seen the end yet');

      slow.resume();
      await slow.until((x) => opened(x, 2), 15_000, 'the reconnect after the eviction');
      assert.equal(slow.connections[0].end, 'error', `the evicted stream ended with a read error, not cleanly: ${connectionsOf(slow)}`);
      expected.push(await publishOk(hub, 'agui', textEvent(user, 'marker'), { token }));
      await Promise.all([slow, reader].map((c) => c.until((x) => x.deliveredIds().includes(expected.at(-1)), 20_000, `all ${expected.length} events`)));

      t.diagnostic(`the evicted stream: ${slow.connections[0].bytes} bytes, the last ending ${cutAt(slow.connections[0])}`);
      assert.equal(await metric(hub, SLOW), slowBefore + 1, 'exactly one slow-consumer eviction: the paused client');
      assert.equal(slow.connections.length, 2, `one reconnect after the eviction: ${connectionsOf(slow)}`);
      assertStayedLive(slow, 'evicted client');
      assertExactlyOnceInOrder(slow, expected, 'evicted client');
      const [resumedFrom] = assertResumedFromOwnCursor(slow, 'evicted client');
      assert.ok(expected.indexOf(resumedFrom) >= 4 && expected.indexOf(resumedFrom) < expected.length - 1 - 2 * BATCH,
        `the reconnect resumed from an event received before the eviction (${resumedFrom}), so the rest came by replay`);
      assert.equal(reader.connections.length, 1, 'the reading client was never disconnected');
      assertExactlyOnceInOrder(reader, expected, 'reading client');
      t.diagnostic(`eviction after ${evictedAfterBatch} batches (${(evictedAfterBatch * BATCH * EVENT_BYTES / 2 ** 20).toFixed(1)} MiB); first end: ${slow.connections[0].error}; resumed from ${resumedFrom}, replayed ${expected.length - 1 - expected.indexOf(resumedFrom)} events`);
    });
  });

  describe(`${kind.name}: admin disconnect and token expiry`, () => {
    let hub;
    const clients = useHub({}, (started) => { hub = started; });

    it('after an admin disconnect (DELETE /api/v1/admin/users/{id}/connections) the client sees an error, reconnects with its Last-Event-ID and gets every event exactly once, in order, also those published before its reconnect request', async (t) => {
      const user = uniqueId('fadmin');
      const token = hub.token(user);
      const expected = [];
      const publishAway = async (req) => {
        // Published after the stream ended and before the reconnect request is sent.
        if (req.attempt !== 1) return;
        for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `away-${i}`), { token }));
      };
      const c = kind.open(`${hub.url}/api/v1/stream/agui`, { getToken: () => token, onRequest: publishAway });
      clients.push(c);
      await c.until((x) => x.named('connected').length === 1, 5_000, 'the connected event');
      for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `before-${i}`), { token }));
      await c.until((x) => x.deliveredIds().length >= expected.length, 5_000, 'the first events');
      const adminBefore = await metric(hub, 'herald_disconnects_total{reason="admin"}');

      const answer = await hub.disconnectUser(user);
      assert.equal(answer?.data?.disconnected, 1, `the admin disconnect ended the one stream: ${JSON.stringify(answer)}`);
      await c.until((x) => opened(x, 2), 10_000, 'the reconnect');
      assert.equal(c.connections[0].end, 'error', `the disconnected stream ended with a read error, not cleanly: ${connectionsOf(c)}`);
      expected.push(await publishOk(hub, 'agui', textEvent(user, 'marker'), { token }));
      await c.until((x) => x.deliveredIds().includes(expected.at(-1)), 5_000, 'the marker');

      assert.equal(await metric(hub, 'herald_disconnects_total{reason="admin"}'), adminBefore + 1, 'one admin disconnect');
      assert.equal(c.requests.length, 2, `one request, one reconnect: ${connectionsOf(c)}`);
      assertStayedLive(c, 'after the admin disconnect');
      assertExactlyOnceInOrder(c, expected, 'after the admin disconnect');
      assert.deepEqual(assertResumedFromOwnCursor(c, 'after the admin disconnect'), [expected[4]]);
      t.diagnostic(`admin disconnect: first end: ${c.connections[0].error}; reconnected after ${c.requests[1].at - c.connections[0].endedAt} ms`);
    });

    it('when its token expires the hub ends the stream; the client sees an error, reconnects with a refreshed token and its Last-Event-ID, and gets every event published before and after the expiry exactly once, in order', async (t) => {
      const user = uniqueId('fexpiry');
      const publisher = hub.token(user, { ttl: 600 });
      const first = hub.token(user, { ttl: 3 });
      const exp = JSON.parse(Buffer.from(first.split('.')[1], 'base64url')).exp;
      let refreshed;
      // A front-end's token source: the token it has, a new one once that has (nearly) expired.
      const getToken = () => {
        if (Date.now() < (exp - 1) * 1000) return first;
        refreshed ??= hub.token(user, { ttl: 600 });
        return refreshed;
      };
      const expected = [];
      const publishAway = async (req) => {
        if (req.attempt !== 1) return;
        for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `away-${i}`), { token: publisher }));
      };
      const expiredBefore = await metric(hub, 'herald_disconnects_total{reason="auth_expired"}');
      const c = kind.open(`${hub.url}/api/v1/stream/agui`, { getToken, onRequest: publishAway });
      clients.push(c);
      await c.until((x) => x.named('connected').length === 1, 5_000, 'the connected event');
      assert.equal(c.requests[0].authorization, `Bearer ${first}`, 'the first request carries the short-lived token');
      for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `before-${i}`), { token: publisher }));
      await c.until((x) => x.deliveredIds().length >= expected.length, 5_000, 'the first events');

      await c.until((x) => x.connections[0].end !== undefined, (exp * 1000 - Date.now()) + 3_000, 'the end of the stream at the expiry');
      assert.equal(c.connections[0].end, 'error', `the expired stream ended with a read error, not cleanly: ${connectionsOf(c)}`);
      assert.ok(c.connections[0].endedAt >= exp * 1000 - 250, `the stream ended at the token's exp (${new Date(exp * 1000).toISOString()}), not before: ${new Date(c.connections[0].endedAt).toISOString()}`);
      assert.ok(c.named('auth_expiring').some((e) => e.connection === 0), 'the hub announced the expiry (auth_expiring) on the first stream');
      await c.until((x) => opened(x, 2), 10_000, 'the reconnect with a refreshed token');
      expected.push(await publishOk(hub, 'agui', textEvent(user, 'marker'), { token: publisher }));
      await c.until((x) => x.deliveredIds().includes(expected.at(-1)), 5_000, 'the marker');

      assert.equal(await metric(hub, 'herald_disconnects_total{reason="auth_expired"}'), expiredBefore + 1, 'one stream ended by its token\'s expiry');
      assert.equal(c.requests.length, 2, `one request, one reconnect: ${connectionsOf(c)}`);
      assert.ok(refreshed && c.requests[1].authorization === `Bearer ${refreshed}`, 'the reconnect carries the refreshed token');
      assert.equal(c.requests[1].status, 200, 'the refreshed token is accepted');
      assertStayedLive(c, 'after the expiry');
      assertExactlyOnceInOrder(c, expected, 'after the expiry');
      assert.deepEqual(assertResumedFromOwnCursor(c, 'after the expiry'), [expected[4]]);
      t.diagnostic(`expiry: first end ${c.connections[0].endedAt - exp * 1000} ms after exp (${c.connections[0].error}); reconnected after ${c.requests[1].at - c.connections[0].endedAt} ms`);
    });
  });
}
