// Herald's own JS client (clients/js, its built ESM module) in Node.js against a real hub:
// streams with their ids, resume with its own Last-Event-ID after every way the hub drops a
// connection (admin disconnect, a drain and restart on the same data dir, token expiry), the
// reset callback when the hub cannot resume (a restart on a fresh data dir), the heartbeat
// watchdog on a hub frozen with SIGSTOP, close() leaving nothing behind; and the publish, batch
// and contexts calls with their typed answers, errors, Retry-After and Idempotency-Key.
// Every wait is a condition with a deadline.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHub, startHubOnPort, publishOk, uniqueId, parseEventId, useHub, withTimeout, waitFor } from './lib/hub.mjs';
import { CLIENT_MODULE, HeraldClient, HeraldError, SseParser, recordingFetch, recordSubscription } from './lib/js-client.mjs';

const textEvent = (user, tag) => ({ type: 'TEXT_MESSAGE_CONTENT', messageId: `${user}-m`, delta: `token ${tag}` });
const a2aEvent = (user, tag) => ({ type: 'AGENT_MESSAGE', taskId: `${user}-t`, contextId: `${user}-c`, messageId: `${user}-am-${tag}`, content: `part ${tag}` });
// Reconnects in these tests wait at most 1.5 s (the hub's `retry:` is 2 s): bounded test time.
const FAST = { initialDelayMs: 200, maxDelayMs: 1_500 };

/** Ids of the published (non-system) events a recorder got, in arrival order. */
const publishedIds = (rec) => rec.events.filter((e) => e.event?.protocol !== 'system').map((e) => e.id);

function assertExactlyOnceInOrder(got, expected, what) {
  assert.deepEqual(got.filter((id, i) => got.indexOf(id) !== i), [], `${what}: no duplicate`);
  assert.deepEqual(expected.filter((id) => !got.includes(id)), [], `${what}: no gap`);
  assert.deepEqual(got, expected, `${what}: every event exactly once, in publish order`);
}

/** The stream requests (GET /api/v1/stream/…) a recording fetch saw. */
const streamRequests = (rf) => rf.requests.filter((r) => new URL(r.url).pathname.startsWith('/api/v1/stream/'));

describe('JS client (Node.js): subscribe', () => {
  let hub;
  const owned = useHub({ heartbeat: 5 }, (started) => { hub = started; });

  it('subscribe delivers agui and a2a events bare and contexts events as {protocol, event} after a CONTEXTS_SNAPSHOT, each with the publish answer\'s event_id as its id, in order, only the user\'s own', async () => {
    const user = uniqueId('jsc');
    const other = uniqueId('jsc-other');
    const rf = recordingFetch();
    const token = hub.token(user);
    const client = new HeraldClient({ baseUrl: hub.url, token, fetch: rf.fetch });
    const recs = {};
    for (const s of ['agui', 'a2a', 'contexts']) {
      recs[s] = recordSubscription(client, s, { reconnect: FAST });
      owned.push(recs[s]);
    }
    await Promise.all(Object.values(recs).map((r) => r.until((x) => x.opens.length === 1, 5_000, 'open')));
    for (const r of Object.values(recs)) {
      assert.equal(r.sub.state, 'open');
      assert.deepEqual(r.opens[0], { kind: 'open', at: r.opens[0].at, attempt: 0, lastEventId: undefined }, 'the first connection is fresh');
    }
    await recs.contexts.until((x) => x.events.length >= 1, 5_000, 'the snapshot');
    const snapshot = recs.contexts.events[0];
    assert.equal(snapshot.event.protocol, 'system');
    assert.equal(snapshot.event.event.type, 'CONTEXTS_SNAPSHOT');
    assert.ok(Array.isArray(snapshot.event.event.contexts));
    // A fresh agui stream starts with the hub's `connected` cursor: the client has a position
    // before any event, and does not deliver the named frame as an event.
    assert.match(recs.agui.sub.lastEventId ?? '', /^[0-9a-f]{8}-0$/, 'the cursor of the connected frame is the position before the first event');

    await publishOk(hub, 'agui', { user_id: other, ...textEvent(other, 'not-mine') });
    const expected = { agui: [], a2a: [], contexts: [] };
    const sent = new Map();
    for (let i = 0; i < 4; i++) {
      for (const [protocol, make] of [['agui', textEvent], ['a2a', a2aEvent]]) {
        const event = make(user, i);
        const id = await publishOk(hub, protocol, { user_id: user, ...event });
        expected[protocol].push(id);
        expected.contexts.push(id);
        sent.set(id, { protocol, event });
      }
    }
    for (const [s, r] of Object.entries(recs)) {
      await r.until((x) => publishedIds(x).length >= expected[s].length, 5_000, `${expected[s].length} events`);
      assertExactlyOnceInOrder(publishedIds(r), expected[s], s);
    }
    for (const e of recs.agui.events) {
      const { timestamp, ...rest } = e.event;
      assert.deepEqual(rest, sent.get(e.id).event, 'agui: the bare AG-UI event as published');
      assert.equal(typeof timestamp, 'number', 'agui: the hub added an integer timestamp');
    }
    for (const e of recs.a2a.events) assert.equal(e.event.type, 'AGENT_MESSAGE');
    const systemTypes = recs.contexts.events.filter((e) => e.event.protocol === 'system').map((e) => e.event.event.type);
    assert.deepEqual(systemTypes, ['CONTEXTS_SNAPSHOT', 'CONTEXT_CREATED'], 'contexts: the snapshot, then the context the A2A events created');
    for (const e of recs.contexts.events.filter((x) => x.event.protocol !== 'system')) {
      assert.equal(e.event.protocol, sent.get(e.id).protocol, 'contexts: the envelope names the protocol');
      assert.equal(e.event.event.type, sent.get(e.id).event.type);
    }
    for (const r of Object.values(recs)) {
      assert.equal(r.errors.length, 0, 'no error');
      assert.equal(r.resets.length, 0, 'no reset');
    }
    assert.equal(recs.agui.sub.lastEventId, expected.agui.at(-1), 'lastEventId is the last event\'s id');
    const reqs = streamRequests(rf);
    assert.equal(reqs.length, 3, 'one request per stream');
    for (const r of reqs) assert.equal(r.authorization, `Bearer ${token}`, 'the bearer token on every stream request');
  });

  it('after an admin disconnect the subscription reconnects by itself with Last-Event-ID = the last id it received, and gets every event published meanwhile exactly once, in order', async () => {
    const user = uniqueId('jsc-admin');
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch });
    const rec = recordSubscription(client, 'agui', { reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.opens.length === 1, 5_000, 'open');
    const expected = [];
    for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', { user_id: user, ...textEvent(user, `before-${i}`) }));
    await rec.until((x) => x.events.length >= 5, 5_000, 'the first events');

    await hub.disconnectUser(user);
    await rec.until((x) => x.errors.length >= 1, 5_000, 'the end of the stream');
    assert.equal(rec.errors[0].willRetry, true, 'the end is reported, with a retry');
    assert.equal(rec.errors[0].code, 'network_error');
    assert.ok(rec.errors[0].delayMs <= FAST.maxDelayMs, `waits at most maxDelayMs: ${rec.errors[0].delayMs}`);
    for (let i = 0; i < 10; i++) expected.push(await publishOk(hub, 'agui', { user_id: user, ...textEvent(user, `away-${i}`) }));
    await rec.until((x) => x.opens.length >= 2, 10_000, 'the reconnect');
    expected.push(await publishOk(hub, 'agui', { user_id: user, ...textEvent(user, 'marker') }));
    await rec.until((x) => x.ids().includes(expected.at(-1)), 5_000, 'the marker');

    const reqs = streamRequests(rf);
    assert.equal(reqs.length, 2, 'one request, one reconnect');
    assert.equal(reqs[0].lastEventId, undefined, 'the first request has no Last-Event-ID');
    assert.equal(reqs[1].lastEventId, expected[4], 'the reconnect sends the id of the last event received');
    assert.deepEqual(rec.opens[1], { kind: 'open', at: rec.opens[1].at, attempt: 1, lastEventId: expected[4] });
    assertExactlyOnceInOrder(rec.ids(), expected, 'agui');
    assert.equal(rec.resets.length, 0, 'no reset on a resume');
  });

  it('a token function is called before every connect: when the token expires the hub ends the stream (after auth_expiring) and the reconnect carries a fresh token and the Last-Event-ID, with no loss or duplicate', async () => {
    const user = uniqueId('jsc-exp');
    const first = hub.token(user, { ttl: 3 });
    const exp = JSON.parse(Buffer.from(first.split('.')[1], 'base64url')).exp;
    const given = [];
    const token = () => {
      const t = given.length === 0 ? first : hub.token(user, { ttl: 600 });
      given.push(t);
      return t;
    };
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, token, fetch: rf.fetch });
    const rec = recordSubscription(client, 'agui', { reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.opens.length === 1, 5_000, 'open');
    const expected = [];
    for (let i = 0; i < 3; i++) expected.push(await publishOk(hub, 'agui', { user_id: user, ...textEvent(user, `before-${i}`) }));
    await rec.until((x) => x.expiring.length >= 1, 5_000, 'auth_expiring');
    assert.equal(Date.parse(rec.expiring[0].expiresAt), exp * 1000, `onAuthExpiring gets the token's exp: ${rec.expiring[0].expiresAt}`);
    await rec.until((x) => x.errors.length >= 1, exp * 1000 - Date.now() + 5_000, 'the end at the expiry');
    assert.ok(rec.errors[0].at >= exp * 1000 - 250, 'the stream ended at exp, not before');
    await rec.until((x) => x.opens.length >= 2, 10_000, 'the reconnect with a fresh token');
    expected.push(await publishOk(hub, 'agui', { user_id: user, ...textEvent(user, 'after') }));
    await rec.until((x) => x.ids().includes(expected.at(-1)), 5_000, 'the event after the reconnect');

    const reqs = streamRequests(rf);
    assert.equal(reqs.length, 2);
    assert.equal(given.length, 2, 'the token function was called once per connect');
    assert.equal(reqs[0].authorization, `Bearer ${given[0]}`);
    assert.equal(reqs[1].authorization, `Bearer ${given[1]}`, 'the reconnect carries the fresh token');
    assert.notEqual(given[1], given[0]);
    assert.equal(reqs[1].lastEventId, expected[2]);
    assertExactlyOnceInOrder(rec.ids(), expected, 'agui');
  });

  it('a static token the hub refuses (401) stops the subscription for good: one request, onError unauthorized with willRetry false, state closed; a token function that throws or yields a refused token is retried until it yields a good one', async () => {
    const user = uniqueId('jsc-401');
    const rf = recordingFetch();
    const bad = new HeraldClient({ baseUrl: hub.url, token: 'not.a.token', fetch: rf.fetch });
    const rec = recordSubscription(bad, 'agui', { reconnect: FAST });
    owned.push(rec);
    await withTimeout(rec.sub.closed, 5_000, 'the subscription to stop');
    assert.equal(rec.sub.state, 'closed');
    assert.equal(rec.errors.length, 1);
    assert.ok(rec.errors[0].error instanceof HeraldError);
    assert.equal(rec.errors[0].status, 401);
    assert.equal(rec.errors[0].code, 'unauthorized', 'the hub\'s error code');
    assert.equal(rec.errors[0].willRetry, false);
    assert.match(rec.errors[0].error.timestamp, /^\d{4}-\d\d-\d\dT/, 'the hub\'s error timestamp');
    assert.equal(streamRequests(rf).length, 1, 'no retry');

    // A token function: first it fails (its auth server is down), then gives a token the hub
    // refuses, then a good one. Each failure is retried, since the next call may do better.
    let calls = 0;
    const recovering = new HeraldClient({
      baseUrl: hub.url,
      token: () => {
        calls += 1;
        if (calls === 1) throw new Error('auth server down');
        return calls === 2 ? 'not.a.token' : hub.token(user);
      },
    });
    const rec2 = recordSubscription(recovering, 'agui', { reconnect: FAST });
    owned.push(rec2);
    await rec2.until((x) => x.opens.length === 1, 5_000, 'open with the third token');
    assert.deepEqual(rec2.errors.map((e) => [e.code, e.status, e.willRetry]), [['token_error', 0, true], ['unauthorized', 401, true]]);
    assert.equal(rec2.opens[0].attempt, 2);
    assert.equal(calls, 3, 'the token function is called before each attempt');
  });

  it('the hub\'s 429 at its per-user cap is retried after its Retry-After, and the stream opens once a slot is free', async () => {
    const capped = await startHub({ heartbeat: 5, extraArgs: ['--max-connections-per-user', '1'] });
    try {
      const user = uniqueId('jsc-cap');
      const client = new HeraldClient({ baseUrl: capped.url, token: capped.token(user) });
      const holder = recordSubscription(client, 'agui', { reconnect: FAST });
      owned.push(holder);
      await holder.until((x) => x.opens.length === 1, 5_000, 'the first stream');
      const waiting = recordSubscription(client, 'agui', { reconnect: { initialDelayMs: 200, maxDelayMs: 10_000 } });
      owned.push(waiting);
      await waiting.until((x) => x.errors.length >= 1, 5_000, 'the 429');
      const refusal = waiting.errors[0];
      assert.equal(refusal.status, 429);
      assert.equal(refusal.code, 'rate_limited');
      assert.equal(refusal.error.retryAfterMs, 5_000, 'Retry-After: 5');
      assert.equal(refusal.willRetry, true);
      assert.ok(refusal.delayMs >= 5_000, `waits at least Retry-After: ${refusal.delayMs}`);
      await holder.close();
      await waiting.until((x) => x.opens.length === 1, 15_000, 'the open once the slot is free');
      assert.ok(waiting.opens[0].at - refusal.at >= 5_000 - 50, 'not before Retry-After');
      const id = await publishOk(capped, 'agui', { user_id: user, ...textEvent(user, 'capped') });
      await waiting.until((x) => x.ids().includes(id), 5_000, 'the event');
    } finally {
      await capped.stop();
    }
  });

  it('in Node.js the access_token cookie given in `headers` (no token) authenticates the stream and the API calls: no Authorization header is sent', async () => {
    const user = uniqueId('jsc-nodecookie');
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, headers: { Cookie: `access_token=${hub.token(user)}` }, fetch: rf.fetch });
    const rec = recordSubscription(client, 'agui', { reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.opens.length === 1, 5_000, 'open');
    const answer = await client.publish('agui', user, textEvent(user, 'cookie'));
    await rec.until((x) => x.ids().includes(answer.event_id), 5_000, 'the event');
    assert.equal((await client.contexts.list()).total, 0);
    assert.equal(rf.requests.length, 3);
    for (const r of rf.requests) {
      assert.equal(r.authorization, undefined, `${r.method} ${r.url}: no Authorization`);
      assert.match(r.cookie ?? '', /^access_token=/);
      assert.equal(r.status, 200);
    }
  });

  it('contextId subscribes to the events attributed to one context only (?context_id=)', async () => {
    const user = uniqueId('jsc-ctxfilter');
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch });
    const rec = recordSubscription(client, 'agui', { contextId: `${user}-a b`, reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.opens.length === 1, 5_000, 'open');
    assert.equal(new URL(streamRequests(rf)[0].url).searchParams.get('context_id'), `${user}-a b`, 'the context id, URL-encoded');
    const mine = [];
    for (let i = 0; i < 3; i++) {
      mine.push((await client.publish('agui', user, textEvent(user, `a${i}`), { contextId: `${user}-a b` })).event_id);
      await client.publish('agui', user, textEvent(user, `b${i}`), { contextId: `${user}-b` });
    }
    const marker = (await client.publish('agui', user, textEvent(user, 'a-marker'), { contextId: `${user}-a b` })).event_id;
    await rec.until((x) => x.ids().includes(marker), 5_000, 'the marker');
    assert.deepEqual(rec.ids(), [...mine, marker], 'only the context\'s events');
  });

  it('close() called inside onEvent stops delivery at once and leaves lastEventId at the last event delivered; a later subscription given that lastEventId gets exactly the rest', async () => {
    const user = uniqueId('jsc-cursor');
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user) });
    const got = [];
    let sub;
    const opened = new Promise((resolve) => {
      sub = client.subscribe('agui', {
        onOpen: resolve,
        onEvent: (event, { id }) => {
          got.push(id);
          if (got.length === 2) void sub.close();
        },
      });
    });
    owned.push(sub);
    await withTimeout(opened, 5_000, 'open');
    // One batch: the hub writes its events to the stream together, in one chunk or few.
    const batch = await client.publishBatch([0, 1, 2, 3, 4].map((i) => ({ user_id: user, protocol: 'agui', event: textEvent(user, `c${i}`) })));
    const ids = batch.results.map((r) => r.event_id);
    await withTimeout(sub.closed, 5_000, 'the subscription to stop');
    assert.deepEqual(got, ids.slice(0, 2), 'nothing delivered after close()');
    assert.equal(sub.lastEventId, ids[1], 'the position is the last event delivered, not the last one read');

    const rest = recordSubscription(client, 'agui', { lastEventId: sub.lastEventId, reconnect: FAST });
    owned.push(rest);
    await rest.until((x) => x.events.length >= 3, 5_000, 'the rest');
    assert.deepEqual(rest.opens.map((o) => o.lastEventId), [ids[1]], 'the first request resumes from the given id');
    const marker = await client.publish('agui', user, textEvent(user, 'marker'));
    await rest.until((x) => x.ids().includes(marker.event_id), 5_000, 'the marker');
    assertExactlyOnceInOrder(rest.ids(), [...ids.slice(2), marker.event_id], 'the later subscription');
  });

  it('close() ends the stream and leaves nothing running: closed resolves, the hub counts no connection, and a Node.js process whose only work was the subscription exits by itself, also when closed during a 60 s wait to reconnect', async () => {
    const connections = async (user) => {
      const res = await hub.fetch(`/api/v1/admin/users/${user}/connections`, { headers: { Authorization: `Bearer ${hub.adminToken}` } });
      return (await res.json()).data.connections;
    };
    for (const mode of ['open', 'waiting']) {
      const user = uniqueId(`jsc-close-${mode}`);
      // The child subscribes, closes when told (on stdin) and prints its state; nothing else
      // keeps its event loop alive, so it exits once the subscription left no timer or socket.
      // In 'waiting' mode its token function gives a token the hub refuses: a 401, retried
      // (a token function may fix it) after initialDelayMs, 60 s.
      const child = spawn(process.execPath, ['--input-type=module', '-e', `
        import { HeraldClient } from ${JSON.stringify(CLIENT_MODULE.href)};
        const token = () => process.env.MODE === 'open' ? process.env.TOKEN : 'not.a.token';
        const client = new HeraldClient({ baseUrl: process.env.HUB, token });
        const sub = client.subscribe('contexts', {
          onEvent: () => {},
          onOpen: () => console.log('open'),
          onError: (e, info) => console.log('error', e.status, info.willRetry, info.delayMs),
          reconnect: { initialDelayMs: 60000, maxDelayMs: 60000, jitter: 0 },
        });
        process.stdin.once('data', async () => {
          process.stdin.destroy();
          await sub.close();
          console.log('closed', sub.state);
        });
      `], { env: { ...process.env, HUB: hub.url, TOKEN: hub.token(user), MODE: mode }, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      child.stdout.on('data', (d) => { out += d; });
      try {
        if (mode === 'open') {
          await waitFor(() => out.includes('open'), { timeoutMs: 5_000, what: 'the child\'s stream to open' });
          assert.equal((await connections(user)).contexts, 1, 'the hub counts the stream');
        } else {
          await waitFor(() => out.includes('error 401 true 60000'), { timeoutMs: 5_000, what: `a 401 and a 60 s wait to retry: ${out}` });
        }
        const closing = Date.now();
        child.stdin.write('close\n');
        const code = await withTimeout(exited, 5_000, `the child to exit after close() (${mode}); output: ${out}`);
        assert.equal(code, 0);
        assert.match(out, /closed closed/, 'closed resolved with state closed');
        assert.ok(Date.now() - closing < 5_000, 'exited at once: no timer (watchdog, reconnect wait) or socket left');
        await waitFor(async () => (await connections(user)).contexts === 0, { timeoutMs: 5_000, what: 'the hub to count no connection' });
      } finally {
        child.kill('SIGKILL');
      }
    }
  });
});

describe('JS client (Node.js): resume across a drain and a restart, and reset when resume is impossible', () => {
  const dirs = [];
  const hubs = [];
  const subs = [];
  after(async () => {
    for (const s of subs) await s.close().catch(() => {});
    for (const h of hubs) await h.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('after a drain (SIGTERM) and a new hub on the same port and data dir, agui, a2a and contexts subscriptions resume by themselves with their Last-Event-ID: every acknowledged event exactly once, in order, no reset', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'herald-jsc-drain-'));
    dirs.push(dataDir);
    const secret = randomBytes(24).toString('hex');
    const extraArgs = ['--drain-window', '1'];
    const hubA = await startHub({ dataDir, secret, heartbeat: 5, extraArgs });
    hubs.push(hubA);
    const user = uniqueId('jsc-drain');
    const token = hubA.token(user, { ttl: 600 });
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hubA.url, token, fetch: rf.fetch });
    const recs = {};
    for (const s of ['agui', 'a2a', 'contexts']) {
      recs[s] = recordSubscription(client, s, { reconnect: FAST });
      subs.push(recs[s]);
    }
    await Promise.all(Object.values(recs).map((r) => r.until((x) => x.opens.length === 1, 5_000, 'open')));
    const expected = { agui: [], a2a: [], contexts: [] };
    let hub = hubA;
    const publishAs = async (protocol, event) => {
      const id = await publishOk(hub, protocol, { user_id: user, ...event }, { token });
      expected[protocol].push(id);
      expected.contexts.push(id);
    };
    for (let i = 0; i < 5; i++) {
      await publishAs('agui', textEvent(user, `before-${i}`));
      await publishAs('a2a', a2aEvent(user, `before-${i}`));
    }
    for (const [s, r] of Object.entries(recs)) await r.until((x) => publishedIds(x).length >= expected[s].length, 5_000, 'events before the drain');
    // Acknowledged just before the SIGTERM, maybe not delivered before the streams end.
    for (let i = 0; i < 5; i++) await publishAs(i % 2 ? 'a2a' : 'agui', i % 2 ? a2aEvent(user, `last-${i}`) : textEvent(user, `last-${i}`));
    await hubA.stop();
    assert.equal(hubA.exitCode, 0, 'the drained hub exits 0');
    await Promise.all(Object.values(recs).map((r) => r.until((x) => x.errors.length >= 1, 5_000, 'the end of the stream')));

    const hubB = await startHubOnPort(hubA.port, { dataDir, secret, heartbeat: 5, extraArgs });
    hubs.push(hubB);
    hub = hubB;
    await Promise.all(Object.values(recs).map((r) => r.until((x) => x.opens.length >= 2, 15_000, 'the reconnect to the restarted hub')));
    for (let i = 0; i < 5; i++) await publishAs(i % 2 ? 'a2a' : 'agui', i % 2 ? a2aEvent(user, `after-${i}`) : textEvent(user, `after-${i}`));
    for (const [s, r] of Object.entries(recs)) {
      await r.until((x) => publishedIds(x).includes(expected[s].at(-1)), 10_000, 'every event');
      assertExactlyOnceInOrder(publishedIds(r), expected[s], s);
      assert.equal(r.resets.length, 0, `${s}: no reset within the same history`);
      assert.ok(r.errors.every((e) => e.willRetry), `${s}: every error was retried`);
      const reqs = streamRequests(rf).filter((q) => new URL(q.url).pathname.endsWith(`/${s}`));
      assert.equal(reqs[0].lastEventId, undefined);
      const lastBefore = r.log.filter((e) => e.kind === 'event' && e.at < r.errors[0].at).at(-1).id;
      for (const q of reqs.slice(1)) assert.equal(q.lastEventId, lastBefore, `${s}: every reconnect sends the last id received before the drain`);
      assert.equal(reqs.at(-1).status, 200);
    }
    assert.equal(recs.contexts.events.filter((e) => e.event.event?.type === 'CONTEXTS_SNAPSHOT').length, 1, 'contexts: one snapshot, the resume sends none');
  });

  it('after a restart on a fresh data dir (another history) agui and a2a call onReset (unknown_history) with the old Last-Event-ID and contexts calls it (snapshot) before a fresh CONTEXTS_SNAPSHOT; all go on with the new hub\'s events', async () => {
    const secret = randomBytes(24).toString('hex');
    const hubA = await startHub({ secret, heartbeat: 5 });
    hubs.push(hubA);
    const user = uniqueId('jsc-reset');
    const token = hubA.token(user, { ttl: 600 });
    const client = new HeraldClient({ baseUrl: hubA.url, token });
    const recs = {};
    for (const s of ['agui', 'a2a', 'contexts']) {
      recs[s] = recordSubscription(client, s, { reconnect: FAST });
      subs.push(recs[s]);
    }
    await Promise.all(Object.values(recs).map((r) => r.until((x) => x.opens.length === 1, 5_000, 'open')));
    const oldAgui = await publishOk(hubA, 'agui', { user_id: user, ...textEvent(user, 'old') }, { token });
    const oldA2a = await publishOk(hubA, 'a2a', { user_id: user, ...a2aEvent(user, 'old') }, { token });
    await recs.agui.until((x) => x.ids().includes(oldAgui), 5_000, 'the old agui event');
    await recs.a2a.until((x) => x.ids().includes(oldA2a), 5_000, 'the old a2a event');
    await recs.contexts.until((x) => x.ids().includes(oldA2a), 5_000, 'the old events on contexts');
    await hubA.stop();
    const hubB = await startHubOnPort(hubA.port, { secret, heartbeat: 5 });
    hubs.push(hubB);
    await Promise.all(Object.values(recs).map((r) => r.until((x) => x.opens.length >= 2, 15_000, 'the reconnect to the new hub')));
    const newAgui = await publishOk(hubB, 'agui', { user_id: user, ...textEvent(user, 'new') }, { token });
    const newA2a = await publishOk(hubB, 'a2a', { user_id: user, ...a2aEvent(user, 'new') }, { token });
    assert.notEqual(parseEventId(newAgui).history, parseEventId(oldAgui).history, 'another history');

    for (const [s, oldId, newId, reason] of [['agui', oldAgui, newAgui, 'unknown_history'], ['a2a', oldA2a, newA2a, 'unknown_history'], ['contexts', oldA2a, newA2a, 'snapshot']]) {
      const r = recs[s];
      await r.until((x) => x.ids().includes(newId), 5_000, 'the new hub\'s event');
      assert.equal(r.resets.length, 1, `${s}: one reset`);
      const reset = r.resets[0];
      assert.equal(reset.reason, reason, `${s}: reason`);
      assert.equal(reset.lastEventId, oldId, `${s}: the id that could not be resumed`);
      assert.equal(parseEventId(reset.id).history, parseEventId(newId).history, `${s}: the new position is in the new history`);
      const resetAt = r.log.indexOf(reset);
      const reopenAt = r.log.indexOf(r.opens[1]);
      assert.ok(reopenAt < resetAt, `${s}: the reset comes on the new connection`);
      const after = r.log.slice(resetAt + 1).filter((e) => e.kind === 'event');
      if (s === 'contexts') {
        assert.equal(after[0].event.event.type, 'CONTEXTS_SNAPSHOT', 'contexts: the fresh snapshot right after the reset callback');
        assert.equal(after[0].id, reset.id);
      }
      assert.ok(after.some((e) => e.id === newId), `${s}: events go on after the reset`);
      assert.equal(r.sub.lastEventId, newId);
    }
  });
});

describe('JS client (Node.js): the hub\'s retry: sets the wait before reconnecting', () => {
  let hub;
  const owned = useHub({ heartbeat: 5, extraArgs: ['--drain-window', '10'] }, (started) => { hub = started; });

  it('with jitter 0 the client waits exactly the hub\'s retry: 2000 ms after an admin disconnect, and after a drain (SIGTERM) the random retry between 2 s and --drain-window that the hub sent last', async () => {
    const user = uniqueId('jsc-retry');
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch });
    const rec = recordSubscription(client, 'agui', { reconnect: { jitter: 0, initialDelayMs: 100, maxDelayMs: 30_000 } });
    owned.push(rec);
    await rec.until((x) => x.opens.length === 1, 5_000, 'open');
    await hub.disconnectUser(user);
    await rec.until((x) => x.opens.length === 2, 10_000, 'the reconnect');
    assert.equal(rec.errors[0].delayMs, 2_000, 'retry: 2000 of the stream\'s first bytes, not initialDelayMs');
    const reqs = streamRequests(rf);
    assert.ok(reqs[1].at - rec.errors[0].at >= 2_000 - 20, `the reconnect waited: ${reqs[1].at - rec.errors[0].at} ms`);

    await hub.stop();
    await rec.until((x) => x.errors.length >= 2, 15_000, 'the end of the stream at the drain');
    const bytes = reqs[1].chunks.map((c) => c.text).join('');
    const retries = [...bytes.matchAll(/^retry: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(retries.length, 2, `the opening retry: and the drain's: ${JSON.stringify(retries)}`);
    const drainRetry = retries[1];
    assert.ok(drainRetry >= 2_000 && drainRetry <= 10_000, `the drain's retry: ${drainRetry}`);
    assert.equal(rec.errors[1].delayMs, drainRetry, 'the wait is the drain\'s retry:');
    await rec.close();
  });
});

describe('JS client (Node.js): back-off while no hub listens', () => {
  it('failed connects in a row wait initialDelayMs, then ×factor each, up to maxDelayMs (each shortened by at most the jitter share), and maxAttempts failures in a row stop the subscription', async () => {
    // A loopback port nobody listens on: bound, then closed.
    const server = createNetServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    await new Promise((resolve) => server.close(resolve));
    const client = new HeraldClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'unused' });
    for (const jitter of [0, 0.5]) {
      const rec = recordSubscription(client, 'agui', { reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 500, jitter, maxAttempts: 6 } });
      await withTimeout(rec.sub.closed, 10_000, 'the subscription to give up');
      assert.equal(rec.sub.state, 'closed');
      assert.equal(rec.opens.length, 0);
      assert.deepEqual(rec.errors.map((e) => e.code), Array(6).fill('network_error'), `six failed connects (jitter ${jitter})`);
      assert.deepEqual(rec.errors.map((e) => e.willRetry), [true, true, true, true, true, false], 'the sixth in a row stops it');
      const nominal = [100, 200, 400, 500, 500];
      rec.errors.slice(0, 5).forEach((e, i) => {
        assert.ok(e.delayMs <= nominal[i] && e.delayMs >= nominal[i] * (1 - jitter), `wait ${i}: ${e.delayMs} within [${nominal[i] * (1 - jitter)}, ${nominal[i]}] (jitter ${jitter})`);
        assert.ok(rec.errors[i + 1].at - e.at >= e.delayMs - 20, `the next attempt came after the wait (${i})`);
      });
      if (jitter === 0) assert.deepEqual(rec.errors.slice(0, 5).map((e) => e.delayMs), nominal);
    }
  });
});

describe('JS client (Node.js): heartbeat watchdog', () => {
  let hub;
  const owned = useHub({ heartbeat: 0.5 }, (started) => { hub = started; });

  it('heartbeats keep a quiet stream open; when the hub is frozen (SIGSTOP) and nothing arrives for heartbeatIntervalMs × missedHeartbeats the client drops the connection and reconnects with its Last-Event-ID, and once the hub runs again (SIGCONT) gets every event exactly once', async () => {
    const user = uniqueId('jsc-watchdog');
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch });
    const watchdogMs = 500 * 4;
    const rec = recordSubscription(client, 'agui', { heartbeatIntervalMs: 500, missedHeartbeats: 4, reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.opens.length === 1, 5_000, 'open');
    const expected = [];
    for (let i = 0; i < 3; i++) expected.push(await publishOk(hub, 'agui', { user_id: user, ...textEvent(user, `before-${i}`) }));
    await rec.until((x) => x.events.length >= 3, 5_000, 'the first events');

    // A quiet stream: only heartbeats arrive, over more than the watchdog's time; it stays open.
    const first = streamRequests(rf)[0];
    const heartbeats = () => first.chunks.map((c) => c.text).join('').split('event: heartbeat').length - 1;
    const quietFrom = Date.now();
    await rf.until(() => heartbeats() >= 6 && Date.now() - quietFrom > watchdogMs, 10_000, 'heartbeats for longer than the watchdog time');
    assert.equal(streamRequests(rf).length, 1, 'heartbeats kept the stream: no reconnect');
    assert.equal(rec.errors.length, 0);

    hub.proc.kill('SIGSTOP');
    let stoppedAt;
    try {
      stoppedAt = Date.now();
      await rec.until((x) => x.errors.length >= 1, watchdogMs + 5_000, 'the watchdog');
      await rf.until(() => streamRequests(rf).length >= 2, 5_000, 'the reconnect request');
    } finally {
      hub.proc.kill('SIGCONT');
    }
    const timeout = rec.errors[0];
    assert.equal(timeout.code, 'heartbeat_timeout');
    assert.equal(timeout.willRetry, true);
    const lastChunkAt = Math.max(...first.chunks.map((c) => c.at));
    assert.ok(timeout.at - lastChunkAt >= watchdogMs - 50, `fired ${timeout.at - lastChunkAt} ms after the last bytes, not before ${watchdogMs} ms`);
    assert.ok(timeout.at - stoppedAt <= watchdogMs + 1_500, `fired within the watchdog time of the freeze: ${timeout.at - stoppedAt} ms`);

    await rec.until((x) => x.opens.length >= 2, 15_000, 'the reconnect once the hub runs again');
    for (let i = 0; i < 3; i++) expected.push(await publishOk(hub, 'agui', { user_id: user, ...textEvent(user, `after-${i}`) }));
    await rec.until((x) => x.ids().includes(expected.at(-1)), 5_000, 'the events after the freeze');
    assertExactlyOnceInOrder(rec.ids(), expected, 'agui');
    for (const q of streamRequests(rf).slice(1)) assert.equal(q.lastEventId, expected[2], 'every reconnect resumes after the last event received');
  });
});

describe('JS client (Node.js): publish, batch, contexts', () => {
  let hub;
  const owned = useHub({ heartbeat: 5 }, (started) => { hub = started; });

  it('publish (agui, a2a) resolves with the hub\'s {status, connection_count, event_id} once stored; the subscriber gets the event under that id; contextId attributes it', async () => {
    const user = uniqueId('jsc-pub');
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user) });
    const rec = recordSubscription(client, 'contexts', { reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.events.length >= 1, 5_000, 'the snapshot');
    const a = await client.publish('agui', user, textEvent(user, 'p1'));
    assert.equal(a.status, 'broadcasted');
    assert.equal(a.connection_count, 1, 'delivered to the one contexts stream');
    assert.equal(a.replayed, false);
    parseEventId(a.event_id);
    const ctx = `${user}-ctx`;
    const b = await client.publish('a2a', user, a2aEvent(user, 'p2'), { contextId: ctx });
    await rec.until((x) => x.ids().includes(b.event_id), 5_000, 'the a2a event');
    const got = rec.events.find((e) => e.id === a.event_id);
    assert.equal(got.event.protocol, 'agui');
    assert.equal(got.event.event.delta, 'token p1');
    assert.equal(rec.events.find((e) => e.id === b.event_id).event.event.messageId, `${user}-am-p2`);
    const context = await client.contexts.get(ctx);
    assert.equal(context.context_id, ctx, 'the top-level context_id created and attributed the context');
    assert.equal(context.message_count, 1);
    assert.equal(context.task_count, 1);
  });

  it('errors are HeraldError with the hub\'s shape: 403 publishing for another user (code forbidden, no user id in the message), 422 naming the field, 404 for a context the user does not have; none is retried', async () => {
    const user = uniqueId('jsc-err');
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch });
    const other = uniqueId('jsc-victim');
    let err = await client.publish('agui', other, textEvent(other, 'x')).then(() => null, (e) => e);
    assert.ok(err instanceof HeraldError, `a HeraldError: ${err}`);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'forbidden');
    assert.match(err.message, /^User ID mismatch/);
    assert.ok(!err.message.includes(other), 'the message names no user');
    assert.match(err.timestamp, /^\d{4}-/);
    assert.match(err.requestId ?? '', /^\S+$/, 'the X-Request-Id of the answer');
    err = await client.publish('agui', user, { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm' }).then(() => null, (e) => e);
    assert.equal(err.status, 422);
    assert.equal(err.code, 'validation_error');
    assert.equal(err.field, 'delta');
    err = await client.contexts.get('no-such-context').then(() => null, (e) => e);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'not_found');
    assert.equal(rf.requests.length, 3, 'no retry of a 4xx');
    const failing = new HeraldClient({ baseUrl: hub.url, token: () => { throw new Error('no session'); }, fetch: rf.fetch });
    err = await failing.publish('agui', user, textEvent(user, 'x')).then(() => null, (e) => e);
    assert.ok(err instanceof HeraldError);
    assert.equal(err.code, 'token_error');
    assert.match(err.message, /no session/);
    assert.equal(rf.requests.length, 3, 'nothing sent without a token');
  });

  it('Idempotency-Key: the same key and body twice store one event (the second answer replayed, same event_id, delivered once); the same key with another body is a 422 naming Idempotency-Key', async () => {
    const user = uniqueId('jsc-idem');
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user) });
    const rec = recordSubscription(client, 'agui', { reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.opens.length === 1, 5_000, 'open');
    const key = `order-${user}`;
    const first = await client.publish('agui', user, textEvent(user, 'once'), { idempotencyKey: key });
    const second = await client.publish('agui', user, textEvent(user, 'once'), { idempotencyKey: key });
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true, 'Idempotent-Replayed: true');
    assert.equal(second.event_id, first.event_id);
    const err = await client.publish('agui', user, textEvent(user, 'different'), { idempotencyKey: key }).then(() => null, (e) => e);
    assert.equal(err?.status, 422);
    assert.equal(err.field, 'Idempotency-Key');
    const marker = await client.publish('agui', user, textEvent(user, 'marker'));
    await rec.until((x) => x.ids().includes(marker.event_id), 5_000, 'the marker');
    assert.deepEqual(rec.ids(), [first.event_id, marker.event_id], 'the idempotent event delivered once');
  });

  it('a publish whose answer is lost on the network is retried with the same generated Idempotency-Key: the retry answers the original event_id (replayed) and the event is stored and delivered once', async () => {
    const user = uniqueId('jsc-lost');
    const subscriber = new HeraldClient({ baseUrl: hub.url, token: hub.token(user) });
    const rec = recordSubscription(subscriber, 'agui', { reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.opens.length === 1, 5_000, 'open');
    let lost = 0;
    // The hub answers; the answer is dropped before the client sees it (a connection reset).
    const rf = recordingFetch({
      beforeAnswer: async (entry, res) => {
        if (new URL(entry.url).pathname !== '/api/v1/webhook/agui' || lost > 0) return res;
        lost += 1;
        await res.arrayBuffer();
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
      },
    });
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch, retry: { initialDelayMs: 50, maxDelayMs: 500 } });
    const result = await client.publish('agui', user, textEvent(user, 'lost-answer'));
    const posts = rf.to('/api/v1/webhook/agui');
    assert.equal(posts.length, 2, 'one retry');
    assert.equal(posts[0].status, 200, 'the first attempt was stored by the hub');
    assert.match(posts[0].idempotencyKey ?? '', /^[0-9a-f]{32}$/, 'a generated key');
    assert.equal(posts[1].idempotencyKey, posts[0].idempotencyKey, 'the retry reuses the key');
    assert.equal(result.replayed, true, 'the hub replayed the stored result');
    const marker = await client.publish('agui', user, textEvent(user, 'marker'));
    assert.notEqual(rf.to('/api/v1/webhook/agui').at(-1).idempotencyKey, posts[0].idempotencyKey, 'each call has its own key');
    await rec.until((x) => x.ids().includes(marker.event_id), 5_000, 'the marker');
    assert.deepEqual(rec.ids(), [result.event_id, marker.event_id], 'stored and delivered once');

    // Without a key (idempotencyKey: false) a lost answer is not retried: it could store twice.
    lost = 0;
    const err = await client.publish('agui', user, textEvent(user, 'no-key'), { idempotencyKey: false }).then(() => null, (e) => e);
    assert.equal(err?.code, 'network_error');
    assert.equal(rf.to('/api/v1/webhook/agui').at(-1).idempotencyKey, undefined);
  });

  it('publishBatch sends items in one request and answers one result per item in order (a bad item refused with its field, the others stored and delivered); its generated Idempotency-Key makes a repeat replay', async () => {
    const user = uniqueId('jsc-batch');
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch });
    const rec = recordSubscription(client, 'contexts', { reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.events.length >= 1, 5_000, 'the snapshot');
    const items = [
      { user_id: user, protocol: 'agui', event: textEvent(user, 'b0') },
      { user_id: user, protocol: 'a2a', event: a2aEvent(user, 'b1') },
      { user_id: user, protocol: 'agui', event: { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm' } },
      { user_id: user, protocol: 'agui', event: textEvent(user, 'b3') },
    ];
    const res = await client.publishBatch(items, { idempotencyKey: `batch-${user}` });
    assert.equal(res.accepted, 3);
    assert.equal(res.rejected, 1);
    assert.equal(res.results.length, 4);
    assert.deepEqual(res.results.map((r) => r.status), [200, 200, 422, 200]);
    assert.equal(res.results[2].code, 'validation_error');
    assert.equal(res.results[2].field, 'event.delta');
    const ids = res.results.filter((r) => r.status === 200).map((r) => r.event_id);
    await rec.until((x) => ids.every((id) => x.ids().includes(id)), 5_000, 'the batch');
    assert.deepEqual(publishedIds(rec), ids, 'the stored items, in order');
    const again = await client.publishBatch(items, { idempotencyKey: `batch-${user}` });
    assert.equal(again.replayed, true);
    assert.deepEqual(again.results.filter((r) => r.status === 200).map((r) => r.event_id), ids);
    assert.equal(rf.to('/api/v1/events').length, 2, 'one request per call');
  });

  it('contexts: create, list (paged), get, rename, delete, and publishToContext; the contexts stream sees CONTEXT_CREATED, CONTEXT_UPDATED, the envelope event and CONTEXT_DELETED', async () => {
    const user = uniqueId('jsc-ctx');
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user) });
    const rec = recordSubscription(client, 'contexts', { reconnect: FAST });
    owned.push(rec);
    await rec.until((x) => x.events.length >= 1, 5_000, 'the snapshot');
    const created = await client.contexts.create('  Trip planning  ');
    assert.equal(created.name, 'Trip planning', 'name trimmed');
    assert.equal(created.user_id, user);
    const second = await client.contexts.create(undefined, { contextId: `${user}-own` });
    assert.equal(second.context_id, `${user}-own`);
    assert.match(second.name, /^Conversation \d+$/);
    const page1 = await client.contexts.list({ limit: 1 });
    assert.equal(page1.total, 2);
    assert.equal(page1.contexts.length, 1);
    assert.equal(typeof page1.nextCursor, 'string');
    const page2 = await client.contexts.list({ limit: 1, cursor: page1.nextCursor });
    assert.equal(page2.nextCursor, null);
    const all = [];
    for await (const c of client.contexts.all({ limit: 1 })) all.push(c.context_id);
    assert.deepEqual(all.sort(), [created.context_id, second.context_id].sort());
    const renamed = await client.contexts.rename(created.context_id, 'Trip to Lisbon');
    assert.equal(renamed.name, 'Trip to Lisbon');
    const sent = await client.publishToContext(created.context_id, 'a2a', a2aEvent(user, 'ctx'));
    assert.equal(sent.success, true);
    assert.equal(sent.context_id, created.context_id);
    assert.equal(sent.protocol, 'a2a');
    const got = await client.contexts.get(created.context_id);
    assert.equal(got.message_count, 1);
    assert.equal(got.task_count, 1);
    await client.contexts.delete(created.context_id);
    const gone = await client.contexts.get(created.context_id).then(() => null, (e) => e);
    assert.equal(gone?.status, 404);
    await rec.until((x) => x.events.some((e) => e.event.event?.type === 'CONTEXT_DELETED'), 5_000, 'CONTEXT_DELETED');
    const types = rec.events.slice(1).map((e) => `${e.event.event.type}:${e.event.event.contextId ?? ''}`);
    assert.deepEqual(types, [
      `CONTEXT_CREATED:${created.context_id}`,
      `CONTEXT_CREATED:${second.context_id}`,
      `CONTEXT_UPDATED:${created.context_id}`,
      `AGENT_MESSAGE:${user}-c`,
      `CONTEXT_DELETED:${created.context_id}`,
    ]);
    assert.equal(rec.events.find((e) => e.id === sent.event_id)?.event.protocol, 'a2a');
  });
});

describe('JS client (Node.js): a publish refused with 429 waits for Retry-After', () => {
  let hub;
  useHub({ heartbeat: 5, extraArgs: ['--rate-limit-publishes', '1', '--rate-limit-publishes-burst', '1'] }, (started) => { hub = started; });

  it('a 429 rate_limited publish is retried after its Retry-After and then stored; when Retry-After exceeds maxDelayMs the call fails at once with the HeraldError (status 429, retryAfterMs)', async () => {
    const user = uniqueId('jsc-429');
    const rf = recordingFetch();
    const client = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch, retry: { initialDelayMs: 10, maxDelayMs: 5_000 } });
    await client.publish('agui', user, textEvent(user, 'a'));
    const started = Date.now();
    const res = await client.publish('agui', user, textEvent(user, 'b'));
    const posts = rf.to('/api/v1/webhook/agui');
    assert.deepEqual(posts.map((p) => p.status), [200, 429, 200], 'refused once, then stored');
    assert.ok(posts[2].at - posts[1].at >= 1_000 - 20, `waited Retry-After (1 s): ${posts[2].at - posts[1].at} ms`);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(res.status, 'broadcasted');
    assert.equal(posts[2].idempotencyKey, posts[1].idempotencyKey, 'the retry carries the same key');

    const impatient = new HeraldClient({ baseUrl: hub.url, token: hub.token(user), fetch: rf.fetch, retry: { maxDelayMs: 100 } });
    const before = rf.requests.length;
    const err = await impatient.publish('agui', user, textEvent(user, 'c')).then(() => null, (e) => e);
    assert.ok(err instanceof HeraldError);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limited');
    assert.ok(err.retryAfterMs >= 1_000);
    assert.equal(rf.requests.length - before, 1, 'not retried: the hub asked for longer than maxDelayMs');
  });
});

describe('JS client: SSE parser (sans I/O)', () => {
  const feedAll = (chunks, parser = new SseParser()) => {
    const out = [];
    let retry;
    for (const c of chunks) {
      const r = parser.feed(c);
      out.push(...r.messages);
      if (r.retryMs !== undefined) retry = r.retryMs;
    }
    return { out, retry, parser };
  };
  const stream = 'retry: 2000\n:ok\nid: abc-0\nevent: connected\ndata: {"type":"CONNECTED"}\n\nid: abc-1\ndata: {"a":1}\n\n:heartbeat\n\nevent: heartbeat\ndata: {"type":"heartbeat"}\n\nid: abc-2\ndata: line1\ndata: line2\n\n';

  it('splits into the same events whatever the chunking (whole, 1 byte, every split point), with LF, CRLF or CR line ends', () => {
    const expected = [
      { event: 'connected', data: '{"type":"CONNECTED"}', id: 'abc-0' },
      { event: 'message', data: '{"a":1}', id: 'abc-1' },
      { event: 'heartbeat', data: '{"type":"heartbeat"}', id: 'abc-1' },
      { event: 'message', data: 'line1\nline2', id: 'abc-2' },
    ];
    for (const eol of ['\n', '\r\n', '\r']) {
      const text = stream.replaceAll('\n', eol);
      assert.deepEqual(feedAll([text]).out, expected, `whole (${JSON.stringify(eol)})`);
      assert.equal(feedAll([text]).retry, 2000);
      assert.deepEqual(feedAll([...text]).out, expected, `1 char at a time (${JSON.stringify(eol)})`);
      for (let i = 1; i < text.length; i++) {
        assert.deepEqual(feedAll([text.slice(0, i), text.slice(i)]).out, expected, `split at ${i} (${JSON.stringify(eol)})`);
      }
    }
  });

  it('an id becomes the position only when its block is complete; an id-only block moves it; a leading BOM, "field" without colon and bad retry values are handled as the WHATWG parser does', () => {
    const p = new SseParser('start-0');
    assert.equal(p.feed('id: x-1\ndata: {}').lastEventId, 'start-0', 'a block cut before its end does not move the position');
    p.reset();
    assert.equal(p.lastEventId, 'start-0');
    assert.equal(p.feed('id: x-2\n\n').lastEventId, 'x-2', 'an id-only block moves it without an event');
    const r = new SseParser().feed('\uFEFFdata\nretry: 1x\nid: a\0b\n\n');
    assert.deepEqual(r.messages, [{ event: 'message', data: '', id: undefined }], 'BOM dropped, "data" alone is an empty data line, an id with NUL is ignored');
    assert.equal(r.retryMs, undefined, 'a retry that is not all digits is ignored');
  });
});
