// The npm `eventsource` client reconnects by itself, with its own Last-Event-ID, however the hub
// ends its stream: authenticated by the `access_token` cookie alone, after a drain (SIGTERM, then
// a new hub on the same port and data dir), and after the hub evicted it as a slow consumer.
// In every case the client must end up with every acknowledged event exactly once, in order.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHub, startHubOnPort, metric, publishFillerBatch, publish, publishOk, mintToken, uniqueId, parseEventId, waitFor, withoutRouting, useHub } from './lib/hub.mjs';
import { RecordingEventSource } from './lib/es-client.mjs';

const textEvent = (user, tag) => ({ user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: `${user}-m`, delta: `token ${tag}` });
const a2aEvent = (user, tag) => ({
  user_id: user, type: 'AGENT_MESSAGE', taskId: `${user}-t`, contextId: `${user}-c`, messageId: `${user}-am-${tag}`, content: `part ${tag}`,
});

/** Ids of the non-system messages, in arrival order. */
const deliveredIds = (c) => c.messages.filter((m) => m.json?.protocol !== 'system').map((m) => m.lastEventId);

function assertExactlyOnceInOrder(got, expected, what) {
  const dupes = got.filter((id, i) => got.indexOf(id) !== i);
  assert.deepEqual(dupes, [], `${what}: no duplicate`);
  const missing = expected.filter((id) => !got.includes(id));
  assert.deepEqual(missing, [], `${what}: no gap`);
  assert.deepEqual(got, expected, `${what}: every event exactly once, in publish order`);
  const seqs = got.map((id) => parseEventId(id).seq);
  assert.ok(seqs.every((q, i) => i === 0 || q > seqs[i - 1]), `${what}: ids strictly increase`);
}

/**
 * Every reconnect request carries, as Last-Event-ID, the id of the last message the client had
 * received before it: the client's own cursor, not one the test handed it. Returns those ids.
 */
function assertReconnectsCarryOwnLastId(c, what) {
  let last;
  const sent = [];
  for (const entry of c.log) {
    if (entry.kind === 'message' && entry.lastEventId) last = entry.lastEventId;
    if (entry.kind === 'request' && entry.attempt > 0) {
      assert.equal(entry.lastEventId, last, `${what}: reconnect #${entry.attempt} sends Last-Event-ID = the last id it received`);
      sent.push(entry.lastEventId);
    }
  }
  return sent;
}

describe('eventsource (npm) authenticated by the access_token cookie', () => {
  let hub;
  const clients = useHub({ heartbeat: 5 }, (started) => { hub = started; });

  it('a client sending only `Cookie: access_token=…` (no Authorization) gets events with their ids and, after the hub ends the stream, reconnects by itself with Last-Event-ID and the cookie: every event exactly once, in order', async () => {
    const user = uniqueId('cookie');
    const token = hub.token(user);
    const c = new RecordingEventSource(`${hub.url}/api/v1/stream/agui`, { cookie: token });
    clients.push(c);
    await c.until((x) => x.opens.length === 1, 5_000, 'open');

    const expected = [];
    for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `before-${i}`)));
    await c.until((x) => deliveredIds(x).length >= expected.length, 5_000, 'the first events');
    assert.deepEqual(deliveredIds(c), expected, 'lastEventId of each message is its event_id, in order');

    const answer = await hub.disconnectUser(user);
    assert.equal(answer?.data?.disconnected, 1, `the admin disconnect ended the one stream: ${JSON.stringify(answer)}`);
    await c.until((x) => x.errors.length >= 1, 5_000, 'the end of the stream');
    assert.equal(c.errors[0].readyState, 0, 'the client is reconnecting (CONNECTING), not closed');
    for (let i = 0; i < 10; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `away-${i}`)));
    await c.until((x) => x.opens.length >= 2, 10_000, 'the automatic reconnect');
    expected.push(await publishOk(hub, 'agui', textEvent(user, 'marker')));
    await c.until((x) => deliveredIds(x).includes(expected.at(-1)), 5_000, 'the marker');

    assert.equal(c.requests.length, 2, 'one request, one reconnect');
    for (const r of c.requests) {
      assert.equal(r.authorization, undefined, `request #${r.attempt}: no Authorization header`);
      assert.equal(r.cookie, `access_token=${token}`, `request #${r.attempt}: the cookie carries the token`);
      assert.equal(r.status, 200, `request #${r.attempt}: accepted on the cookie alone`);
    }
    assert.equal(c.requests[0].lastEventId, undefined, 'the first request has no Last-Event-ID');
    assert.deepEqual(assertReconnectsCarryOwnLastId(c, 'agui'), [expected[4]]);
    assertExactlyOnceInOrder(deliveredIds(c), expected, 'agui');
  });

  it('a client whose access_token cookie holds a token signed with another key gets 401 and stops for good: one request, error code 401, readyState CLOSED', async () => {
    const user = uniqueId('badcookie');
    const badToken = mintToken(randomBytes(24).toString('hex'), user); // another secret
    const c = new RecordingEventSource(`${hub.url}/api/v1/stream/agui`, { cookie: badToken });
    clients.push(c);
    await c.until((x) => x.errors.length >= 1, 5_000, 'the error');
    assert.equal(c.errors[0].code, 401, 'the error carries the 401');
    assert.equal(c.es.readyState, 2, 'readyState CLOSED: a non-200 answer fails the connection for good');
    assert.equal(c.opens.length, 0, 'never opened');
    // The npm client schedules no reconnect once CLOSED (its reconnect timer only runs in
    // CONNECTING), so one request is all there can ever be; checked here for the record.
    assert.equal(c.requests.length, 1, 'one request, no retry');
    assert.equal(c.requests[0].status, 401);
  });
});

describe('eventsource (npm): reconnect after a drain (SIGTERM) to a new hub on the same port and data dir', () => {
  let dataDir;
  let hubA;
  let hubB;
  const clients = [];
  before(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'herald-conf-drain-'));
  });
  after(async () => {
    for (const c of clients) c.close();
    await hubA?.stop();
    await hubB?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('agui, a2a and contexts clients reconnect by themselves with their Last-Event-ID to the restarted hub and get every acknowledged event exactly once, in order, including events acknowledged just before the SIGTERM and not yet delivered', async (t) => {
    const secret = randomBytes(24).toString('hex');
    const extraArgs = ['--drain-window', '1'];
    hubA = await startHub({ dataDir, secret, heartbeat: 5, extraArgs });
    const port = hubA.port;
    const user = uniqueId('drain');
    const token = hubA.token(user, { ttl: 600 }); // the same secret: valid on both hubs

    const expected = { agui: [], a2a: [], contexts: [] };
    const payloads = new Map(); // event_id -> {protocol, event} as published
    const record = (protocol, id, event) => {
      expected[protocol].push(id);
      expected.contexts.push(id);
      payloads.set(id, { protocol, event: withoutRouting(event) });
    };
    let hub = hubA;
    const publishAs = async (protocol, event) => record(protocol, await publishOk(hub, protocol, event, { token }), event);

    const streams = {};
    for (const s of ['agui', 'a2a', 'contexts']) {
      streams[s] = new RecordingEventSource(`${hubA.url}/api/v1/stream/${s}`, { token });
      clients.push(streams[s]);
    }
    const all = Object.values(streams);
    await Promise.all(all.map((c) => c.until((x) => x.opens.length === 1, 5_000, 'first open')));
    for (let i = 0; i < 5; i++) {
      await publishAs('agui', textEvent(user, `before-${i}`));
      await publishAs('a2a', a2aEvent(user, `before-${i}`));
    }
    for (const [s, c] of Object.entries(streams)) {
      await c.until((x) => deliveredIds(x).length >= expected[s].length, 5_000, 'events before the drain');
    }

    // Acknowledged, then SIGTERM at once, without waiting for delivery. Publishes keep racing the
    // drain: a 200 must be delivered after the restart, a refusal (503, or a connection refused
    // because the hub stopped listening) must never be; a request that got no answer at all may
    // go either way, told apart by its unique payload.
    for (let i = 0; i < 10; i++) {
      await publishAs(i % 2 ? 'a2a' : 'agui', i % 2 ? a2aEvent(user, `last-${i}`) : textEvent(user, `last-${i}`));
    }
    const refused = [];
    const unanswered = [];
    let racingAcks = 0;
    const racing = (async () => {
      for (let i = 0; i < 500; i++) {
        const event = textEvent(user, `racing-${i}`);
        let res;
        try {
          res = await publish(hubA, 'agui', event, { token });
        } catch (err) {
          // Refused at connect (the listener is closed): the request never reached the hub.
          (err?.cause?.code === 'ECONNREFUSED' ? refused : unanswered).push(event.delta);
          return;
        }
        if (res.status === 200 && typeof res.body?.event_id === 'string') {
          record('agui', res.body.event_id, event);
          racingAcks += 1;
        } else {
          assert.equal(res.status, 503, `a publish during the drain is stored (200) or refused with 503: ${res.status} ${res.text}`);
          refused.push(event.delta);
          return;
        }
      }
    })();
    await waitFor(() => racingAcks >= 2, { timeoutMs: 5_000, what: 'publishes racing the SIGTERM' });
    await hubA.stop(); // SIGTERM; the hub drains, stores what it acknowledged, and exits
    await racing;
    assert.equal(hubA.exitCode, 0, `the drained hub exits 0:\n${hubA.output}`);
    await Promise.all(all.map((c) => c.until((x) => x.errors.length >= 1, 5_000, 'the end of the stream')));
    for (const [s, c] of Object.entries(streams)) {
      assert.equal(c.errors[0].readyState, 0, `${s}: reconnecting (CONNECTING) after the drain, not closed`);
    }
    const lastBefore = Object.fromEntries(Object.entries(streams).map(([s, c]) => [s, c.messages.at(-1).lastEventId]));
    const deliveredBeforeDrain = Object.fromEntries(Object.entries(streams).map(([s, c]) => [s, deliveredIds(c)]));
    const ackedBeforeRestart = Object.fromEntries(Object.entries(expected).map(([s, ids]) => [s, [...ids]]));

    hubB = await startHubOnPort(port, { dataDir, secret, heartbeat: 5, extraArgs });
    hub = hubB;
    await Promise.all(all.map((c) => c.until((x) => x.opens.length >= 2, 15_000, 'the reconnect to the restarted hub')));
    for (let i = 0; i < 10; i++) {
      await publishAs(i % 3 === 2 ? 'a2a' : 'agui', i % 3 === 2 ? a2aEvent(user, `after-${i}`) : textEvent(user, `after-${i}`));
    }
    // A marker published last on each protocol: once it arrived, any duplicate would have too.
    await publishAs('agui', textEvent(user, 'marker'));
    await publishAs('a2a', a2aEvent(user, 'marker'));
    for (const [s, c] of Object.entries(streams)) {
      await c.until((x) => deliveredIds(x).includes(expected[s].at(-1)), 10_000, `all ${expected[s].length} events`);
    }

    const history = parseEventId(expected.contexts[0]).history;
    assert.equal(parseEventId(expected.contexts.at(-1)).history, history, 'the restarted hub continues the same history (same data dir)');
    const replayedAfterSigterm = {};
    for (const [s, c] of Object.entries(streams)) {
      assert.equal(c.requests[0].lastEventId, undefined, `${s}: the first request has no Last-Event-ID`);
      const sent = assertReconnectsCarryOwnLastId(c, s);
      assert.ok(sent.length >= 1 && sent.every((id) => id === lastBefore[s]), `${s}: every reconnect sent ${lastBefore[s]}: ${JSON.stringify(sent)}`);
      assert.equal(c.requests.at(-1).status, 200, `${s}: the last reconnect was accepted`);
      // A reconnect sent before the new hub listened fails at the network level and is retried;
      // an error status (e.g. a 503 from the draining hub) would have ended the client for good.
      assert.ok(c.requests.slice(1, -1).every((r) => r.error !== undefined),
        `${s}: reconnects before the new hub listened failed at the network level: ${JSON.stringify(c.requests)}`);
      // Deliveries whose publish got no answer may or may not have been stored; nothing else extra.
      const got = deliveredIds(c);
      const extra = got.filter((id) => !payloads.has(id));
      for (const id of extra) {
        const m = c.messages.find((x) => x.lastEventId === id);
        const ev = s === 'contexts' ? m.json.event : m.json;
        assert.ok(unanswered.includes(ev.delta), `${s}: ${id} (${ev.delta}) was delivered, but its publish was refused or never made`);
      }
      assertExactlyOnceInOrder(got.filter((id) => payloads.has(id)), expected[s], s);
      for (const m of c.messages.filter((x) => x.json?.protocol !== 'system' && payloads.has(x.lastEventId))) {
        const want = payloads.get(m.lastEventId);
        const gotEvent = s === 'contexts' ? m.json : { protocol: want.protocol, event: m.json };
        assert.equal(gotEvent.protocol, want.protocol, `${s} ${m.lastEventId}: protocol`);
        const { timestamp: _t, ...event } = gotEvent.event;
        assert.deepEqual(event, want.event, `${s} ${m.lastEventId}: payload`);
      }
      assert.equal(c.named.filter((n) => n.type === 'reset').length, 0, `${s}: no reset on a resume within the same history`);
      replayedAfterSigterm[s] = ackedBeforeRestart[s].length - deliveredBeforeDrain[s].length;
    }
    const snapshots = streams.contexts.messages.filter((m) => m.json?.event?.type === 'CONTEXTS_SNAPSHOT');
    assert.equal(snapshots.length, 1, 'contexts: the resume replays events, it sends no second snapshot');
    for (const refusedDelta of refused) {
      assert.ok(!streams.agui.messages.some((m) => m.json?.delta === refusedDelta), `a refused publish (${refusedDelta}) is never delivered`);
    }
    t.diagnostic(`drain: acknowledged before the restart but not delivered before the drain (so replayed) ${JSON.stringify(replayedAfterSigterm)}; publishes racing the SIGTERM: ${racingAcks} stored, ${refused.length} refused (503 or connection refused), ${unanswered.length} unanswered`);
  });
});

describe('eventsource (npm): reconnect after eviction as a slow consumer', () => {
  // Bounds a reading client never reaches: the test publishes one batch of 8 × 32 KiB at a time
  // and waits until the reading client has it, so its outbox holds at most one batch. A client
  // that stopped reading fills its kernel buffers, then its outbox, and is evicted. (Smaller
  // bounds, e.g. 8 frames / 64 KiB, would not tell the two apart: a batch is queued to every
  // outbox at once, so one batch of 8 × 32 KiB, or of 25 tiny events, evicts a reading client too.)
  const MAX_FRAMES = 16;
  const MAX_BYTES = 512 * 1024;
  const BATCH = 8;
  const EVENT_BYTES = 32 * 1024;
  const MAX_BATCHES = 160; // ~40 MiB at most before the test gives up on seeing an eviction
  let hub;
  const clients = useHub({
      heartbeat: 5,
      extraArgs: ['--outbox-max-frames', String(MAX_FRAMES), '--outbox-max-bytes', String(MAX_BYTES)],
    }, (started) => { hub = started; });

  it('a client that stops reading is closed by the hub once its outbox overflows (counted as slow_consumer) while a reading client of the same user keeps its stream; reading again, the evicted client reconnects by itself with its Last-Event-ID and gets every event exactly once, in order', async (t) => {
    const user = uniqueId('slow');
    const token = hub.token(user);
    const url = `${hub.url}/api/v1/stream/agui`;
    const slow = new RecordingEventSource(url, { token, throttle: true });
    const reader = new RecordingEventSource(url, { token });
    clients.push(slow, reader);
    await Promise.all([slow, reader].map((c) => c.until((x) => x.opens.length === 1, 5_000, 'open')));

    const expected = [];
    for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `small-${i}`)));
    await Promise.all([slow, reader].map((c) => c.until((x) => deliveredIds(x).length >= 5, 5_000, 'the first events')));
    const slowBefore = await metric(hub, 'herald_disconnects_total{reason="slow_consumer"}');

    slow.pauseBody();
    const filler = 'x'.repeat(EVENT_BYTES);
    let batches = 0;
    let evictedAfterBatch = 0;
    const publishBatch = async () => {
      expected.push(...await publishFillerBatch(hub, { user, token, count: BATCH, filler, tag: batches }));
      batches += 1;
      // Paced on the reading client: its outbox never holds more than this one batch.
      await reader.until((x) => deliveredIds(x).length >= expected.length, 10_000, `batch ${batches} on the reading client`);
    };
    for (let b = 0; b < MAX_BATCHES && !evictedAfterBatch; b++) {
      await publishBatch();
      if (await metric(hub, 'herald_disconnects_total{reason="slow_consumer"}') > slowBefore) evictedAfterBatch = batches;
    }
    assert.ok(evictedAfterBatch > 0,
      `the paused client was evicted (${batches} batches, ${(batches * BATCH * EVENT_BYTES / 2 ** 20).toFixed(1)} MiB published)`);
    // Two more batches while the evicted client is away: they can only reach it by replay.
    await publishBatch();
    await publishBatch();
    assert.equal(slow.requests.length, 1, 'no reconnect while the client is not reading');

    slow.resumeBody();
    await slow.until((x) => x.opens.length >= 2, 10_000, 'the automatic reconnect after the eviction');
    expected.push(await publishOk(hub, 'agui', textEvent(user, 'marker')));
    await Promise.all([slow, reader].map((c) => c.until((x) => deliveredIds(x).includes(expected.at(-1)), 20_000, `all ${expected.length} events`)));

    assert.equal(await metric(hub, 'herald_disconnects_total{reason="slow_consumer"}'), slowBefore + 1,
      'exactly one slow-consumer eviction: the paused client, not the reading one');
    assert.equal(slow.requests.length, 2, 'one reconnect after the eviction');
    const [resumedFrom] = assertReconnectsCarryOwnLastId(slow, 'slow client');
    assert.ok(resumedFrom && expected.indexOf(resumedFrom) >= 4 && expected.indexOf(resumedFrom) < expected.length - 1 - 2 * BATCH,
      `the reconnect resumed from an id received before the eviction (${resumedFrom}), so the rest came by replay`);
    assertExactlyOnceInOrder(deliveredIds(slow), expected, 'evicted client');
    assert.equal(reader.requests.length, 1, 'the reading client was never disconnected');
    assertExactlyOnceInOrder(deliveredIds(reader), expected, 'reading client');
    for (const m of slow.messages.slice(5, -1)) {
      assert.equal(m.json?.delta?.length > EVENT_BYTES, true, `${m.lastEventId}: the large event arrived whole`);
    }
    t.diagnostic(`slow consumer: evicted after ${evictedAfterBatch} batches (${(evictedAfterBatch * BATCH * EVENT_BYTES / 2 ** 20).toFixed(1)} MiB); resumed from ${resumedFrom}, replayed ${expected.length - 1 - expected.indexOf(resumedFrom)} events`);
  });
});
