// Resume with a real client: the npm `eventsource` client reconnects by itself after the hub
// ends its stream and sends its own Last-Event-ID; the hub must fill the gap exactly once.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, publishOk, uniqueId, parseEventId, waitFor, withoutRouting, useHub } from './lib/hub.mjs';
import { RecordingEventSource } from './lib/es-client.mjs';

const textEvent = (user, i) => ({ user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: `${user}-m`, delta: `token ${i}` });
const a2aEvent = (user, i) => ({
  user_id: user, type: 'AGENT_MESSAGE', taskId: `${user}-t`, contextId: `${user}-c`, messageId: `${user}-am${i}`, content: `part ${i}`,
});

/** Ids of the non-system messages, in arrival order. */
const deliveredIds = (c) => c.messages.filter((m) => m.json?.protocol !== 'system').map((m) => m.lastEventId);

function assertExactlyOnceInOrder(got, expected, what) {
  const dupes = got.filter((id, i) => got.indexOf(id) !== i);
  assert.deepEqual(dupes, [], `${what}: no duplicate`);
  const missing = expected.filter((id) => !got.includes(id));
  assert.deepEqual(missing, [], `${what}: no gap`);
  assert.deepEqual(got, expected, `${what}: every event exactly once, in publish order`);
}

describe('eventsource (npm): automatic reconnect with Last-Event-ID', () => {
  let hub;
  const clients = useHub({ heartbeat: 5 }, (started) => { hub = started; });

  it('after an admin disconnect each stream reconnects by itself with its last id and gets every event exactly once, in order (also events published during the reconnect)', async () => {
    const user = uniqueId('resume');
    const N_BEFORE = 5;
    const N_AWAY = 40;
    const N_DURING = 40;
    const expected = { agui: [], a2a: [], contexts: [] };
    const payloads = new Map(); // event_id -> {protocol, event} as published
    const record = (protocol, id, event) => {
      expected[protocol].push(id);
      expected.contexts.push(id);
      payloads.set(id, { protocol, event: withoutRouting(event) });
    };
    const publishAs = async (protocol, event) => record(protocol, await publishOk(hub, protocol, event), event);
    const publishAgui = (i) => publishAs('agui', textEvent(user, i));
    const publishA2a = (i) => publishAs('a2a', a2aEvent(user, i));

    // Events published while the reconnect request is in flight land around the hub's switch
    // from replay to live: the hardest place for a gap or a duplicate.
    const during = [];
    const startBurst = (info) => {
      if (info.attempt !== 1 || during.length) return;
      during.push((async () => {
        for (let i = 0; i < N_DURING; i++) {
          if (i % 4 === 3) await publishA2a(`during-${i}`); else await publishAgui(`during-${i}`);
        }
      })());
    };
    const streams = {};
    for (const s of ['agui', 'a2a', 'contexts']) {
      streams[s] = new RecordingEventSource(`${hub.url}/api/v1/stream/${s}`, {
        token: hub.token(user), onRequest: s === 'agui' ? startBurst : undefined,
      });
      clients.push(streams[s]);
    }
    const all = Object.values(streams);
    await Promise.all(all.map((c) => c.until((x) => x.opens.length === 1, 5_000, 'first open')));
    for (let i = 0; i < N_BEFORE; i++) { await publishAgui(`before-${i}`); await publishA2a(`before-${i}`); }
    for (const [s, c] of Object.entries(streams)) {
      await c.until((x) => deliveredIds(x).length >= expected[s].length, 5_000, 'events before the disconnect');
    }
    const lastBefore = Object.fromEntries(Object.entries(streams).map(([s, c]) => [s, c.messages.at(-1).lastEventId]));

    const answer = await hub.disconnectUser(user);
    assert.ok(answer?.data?.disconnected >= 3, `admin disconnect ended the user's 3 streams: ${JSON.stringify(answer)}`);
    // The clients notice the end of their stream (error event, readyState CONNECTING) ...
    await Promise.all(all.map((c) => c.until((x) => x.errors.length >= 1, 5_000, 'the disconnect')));
    for (const c of all) assert.equal(c.errors[0].readyState, 0, 'the client is reconnecting (CONNECTING), not closed');
    // ... and events published now are published while they are away.
    for (let i = 0; i < N_AWAY; i++) {
      if (i % 3 === 2) await publishA2a(`away-${i}`); else await publishAgui(`away-${i}`);
    }
    await Promise.all(all.map((c) => c.until((x) => x.opens.length >= 2, 10_000, 'the automatic reconnect')));
    await waitFor(() => during.length === 1, { timeoutMs: 5_000, what: 'the burst during the reconnect to start' });
    await during[0];
    for (const [s, c] of Object.entries(streams)) {
      await c.until((x) => deliveredIds(x).length >= expected[s].length, 10_000, `all ${expected[s].length} events`);
    }
    // A marker published last: once it arrived, any duplicate sent before it would have too.
    await publishAgui('marker');
    for (const [s, c] of Object.entries(streams)) {
      await c.until((x) => deliveredIds(x).includes(expected[s].at(-1)), 5_000, 'the marker');
    }

    for (const [s, c] of Object.entries(streams)) {
      assert.equal(c.requests.length, 2, `${s}: one reconnect`);
      assert.equal(c.requests[0].lastEventId, undefined, `${s}: the first request has no Last-Event-ID`);
      assert.equal(c.requests[1].lastEventId, lastBefore[s], `${s}: the client sent its last id itself`);
      assertExactlyOnceInOrder(deliveredIds(c), expected[s], s);
      const seqs = deliveredIds(c).map((id) => parseEventId(id).seq);
      assert.ok(seqs.every((q, i) => i === 0 || q > seqs[i - 1]), `${s}: ids strictly increase`);
      // Replayed and live frames carry the payload published under that id.
      for (const m of c.messages.filter((x) => x.json?.protocol !== 'system')) {
        const want = payloads.get(m.lastEventId);
        const got = s === 'contexts' ? m.json : { protocol: want.protocol, event: m.json };
        assert.equal(got.protocol, want.protocol, `${s} ${m.lastEventId}: protocol`);
        const { timestamp: _t, ...event } = got.event;
        assert.deepEqual(event, want.event, `${s} ${m.lastEventId}: payload`);
      }
    }
    assert.ok(streams.contexts.messages[0].json?.event?.type === 'CONTEXTS_SNAPSHOT', 'contexts began with its snapshot');
    assert.equal(streams.agui.named.filter((n) => n.type === 'reset').length, 0, 'no reset on a valid resume');
  });

  it('streams the hub ends before their first event reconnect with the cursor they opened with (the `connected` event, the snapshot id) and get every event published while they were away', async () => {
    const user = uniqueId('early');
    const published = { agui: [], a2a: [] };
    // Each client publishes while its own reconnect request waits: those events exist only in
    // the store when it reconnects, so a reconnect without Last-Event-ID would miss them.
    const publishBeforeReconnect = (protocol, count) => async (info) => {
      if (info.attempt !== 1) return;
      for (let i = 0; i < count; i++) {
        const event = protocol === 'agui' ? textEvent(user, `away-${i}`) : a2aEvent(user, `away-${i}`);
        published[protocol].push(await publishOk(hub, protocol, event));
      }
    };
    const streams = {
      agui: new RecordingEventSource(`${hub.url}/api/v1/stream/agui`, { token: hub.token(user), onRequest: publishBeforeReconnect('agui', 3) }),
      a2a: new RecordingEventSource(`${hub.url}/api/v1/stream/a2a`, { token: hub.token(user), onRequest: publishBeforeReconnect('a2a', 2) }),
      contexts: new RecordingEventSource(`${hub.url}/api/v1/stream/contexts`, { token: hub.token(user), onRequest: publishBeforeReconnect('agui', 1) }),
    };
    clients.push(...Object.values(streams));
    await streams.agui.until((x) => x.named.some((n) => n.type === 'connected'), 5_000, 'agui connected');
    await streams.a2a.until((x) => x.named.some((n) => n.type === 'connected'), 5_000, 'a2a connected');
    await streams.contexts.until((x) => x.messages.length === 1, 5_000, 'the snapshot');
    const cursor = streams.agui.named[0].lastEventId;
    assert.equal(parseEventId(cursor).seq, 0, 'a user without events: the position before the first');
    assert.equal(streams.a2a.named[0].lastEventId, cursor);
    assert.equal(streams.contexts.messages[0].lastEventId, cursor, 'the snapshot carries the same cursor');
    assert.deepEqual(streams.agui.messages.concat(streams.a2a.messages), [], 'no event before the disconnect');

    await hub.disconnectUser(user);
    for (const [s, c] of Object.entries(streams)) {
      await c.until((x) => x.opens.length >= 2, 10_000, `${s}: the automatic reconnect`);
      assert.equal(c.requests[1].lastEventId, cursor, `${s}: the reconnect carries the opening cursor`);
    }
    const bySeq = (ids) => [...ids].sort((x, y) => parseEventId(x).seq - parseEventId(y).seq);
    const all = bySeq([...published.agui, ...published.a2a]);
    const expected = { agui: bySeq(published.agui), a2a: bySeq(published.a2a), contexts: all };
    assert.equal(all.length, 6);
    for (const [s, c] of Object.entries(streams)) {
      await c.until((x) => deliveredIds(x).length >= expected[s].length, 5_000, `${s}: the events published while away`);
    }
    // A marker last: any duplicate sent before it would have arrived too.
    const marker = await publishOk(hub, 'agui', textEvent(user, 'marker'));
    for (const s of ['agui', 'contexts']) {
      await streams[s].until((x) => deliveredIds(x).includes(marker), 5_000, `${s}: the marker`);
      expected[s] = [...expected[s], marker];
    }
    for (const [s, c] of Object.entries(streams)) {
      assertExactlyOnceInOrder(deliveredIds(c), expected[s], s);
      assert.equal(c.named.filter((n) => n.type === 'reset').length, 0, `${s}: a resume, not a reset`);
    }
  });
});

describe('eventsource (npm): resume against another history', () => {
  const clients = [];
  let hubA;
  let hubB;
  after(async () => {
    for (const c of clients) c.close();
    await hubA?.stop();
    await hubB?.stop();
  });

  it('a client reconnecting with an id from a wiped store gets `event: reset` (STREAM_RESET) on agui and a2a and a fresh snapshot on contexts, then live events', async () => {
    hubA = await startHub({ heartbeat: 5, extraArgs: ['--drain-window', '1'] });
    const secret = hubA.secret;
    const user = uniqueId('reset');
    const token = hubA.token(user, { ttl: 600 });
    const streams = {};
    for (const s of ['agui', 'a2a', 'contexts']) {
      streams[s] = new RecordingEventSource(`${hubA.url}/api/v1/stream/${s}`, { token });
      clients.push(streams[s]);
    }
    const all = Object.values(streams);
    await Promise.all(all.map((c) => c.until((x) => x.opens.length === 1, 5_000, 'open')));
    const idA1 = await publishOk(hubA, 'agui', textEvent(user, 1));
    const idA2 = await publishOk(hubA, 'a2a', a2aEvent(user, 2));
    await streams.agui.until((x) => deliveredIds(x).includes(idA1), 5_000, 'agui event');
    await streams.a2a.until((x) => deliveredIds(x).includes(idA2), 5_000, 'a2a event');
    await streams.contexts.until((x) => deliveredIds(x).includes(idA2), 5_000, 'contexts events');

    // The store is wiped: the same address now serves a hub with a fresh data dir (new history).
    const port = hubA.port;
    await hubA.stop();
    await Promise.all(all.map((c) => c.until((x) => x.errors.length >= 1, 5_000, 'the end of the stream')));
    hubB = await startHub({ heartbeat: 5, port, secret });
    await Promise.all(all.map((c) => c.until((x) => x.opens.length >= 2, 15_000, 'the reconnect to the new hub')));
    for (const [s, c] of Object.entries(streams)) {
      const last = c.requests.at(-1).lastEventId;
      assert.equal(last, s === 'agui' ? idA1 : idA2, `${s}: reconnected with the old history's id`);
      assert.notEqual(parseEventId(last).history, undefined);
    }
    for (const s of ['agui', 'a2a']) {
      const c = streams[s];
      await c.until((x) => x.named.some((n) => n.type === 'reset'), 5_000, 'event: reset');
      const reset = c.named.find((n) => n.type === 'reset');
      const data = JSON.parse(reset.data);
      assert.equal(data.type, 'STREAM_RESET', `${s}: reset payload type`);
      assert.equal(typeof data.reason, 'string', `${s}: reset reason`);
      assert.ok(data.reason.length > 0);
    }
    const snapshots = () => streams.contexts.messages.filter((m) => m.json?.event?.type === 'CONTEXTS_SNAPSHOT');
    await streams.contexts.until(() => snapshots().length >= 2, 5_000, 'a fresh snapshot');
    assert.deepEqual(snapshots()[1].json.event.contexts, [], 'the fresh snapshot reflects the new (empty) history');
    assert.equal(streams.contexts.named.filter((n) => n.type === 'reset').length, 0, 'contexts gets a snapshot, not a reset');

    // Live events of the new history follow, with the new history's ids.
    const idB1 = await publishOk(hubB, 'agui', textEvent(user, 3));
    const idB2 = await publishOk(hubB, 'a2a', a2aEvent(user, 4));
    assert.notEqual(parseEventId(idB1).history, parseEventId(idA1).history, 'a new store has a new history');
    await streams.agui.until((x) => deliveredIds(x).includes(idB1), 5_000, 'live agui event after reset');
    await streams.a2a.until((x) => deliveredIds(x).includes(idB2), 5_000, 'live a2a event after reset');
    await streams.contexts.until((x) => deliveredIds(x).includes(idB2), 5_000, 'live contexts events after the snapshot');
    assert.deepEqual(deliveredIds(streams.agui), [idA1, idB1]);
    assert.deepEqual(deliveredIds(streams.a2a), [idA2, idB2]);
    assert.deepEqual(deliveredIds(streams.contexts), [idA1, idA2, idB1, idB2]);
  });
});
