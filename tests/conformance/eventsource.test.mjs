// The npm `eventsource` client (a WhatWG-compliant EventSource written by other people) on the
// three streams: open, onmessage delivery with ids, bare vs wrapped payloads, heartbeats.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { publishOk, uniqueId, withoutRouting, useHub } from './lib/hub.mjs';
import { RecordingEventSource } from './lib/es-client.mjs';

const STREAMS = ['agui', 'a2a', 'contexts'];

const aguiEvents = (tag) => [
  { type: 'TEXT_MESSAGE_START', messageId: `${tag}-m1`, role: 'assistant' },
  { type: 'TEXT_MESSAGE_CONTENT', messageId: `${tag}-m1`, delta: 'Hello, ' },
  { type: 'TEXT_MESSAGE_CONTENT', messageId: `${tag}-m1`, delta: 'world — ✓' },
  { type: 'TEXT_MESSAGE_END', messageId: `${tag}-m1` },
  { type: 'STATE_SNAPSHOT', snapshot: { step: 3, items: ['a', 'b'], nested: { ok: true } } },
];
const a2aEvents = (tag) => [
  { type: 'TASK_SUBMITTED', taskId: `${tag}-t1`, contextId: `${tag}-c1`, agentName: 'planner' },
  { type: 'TASK_STATUS_UPDATE', taskId: `${tag}-t1`, contextId: `${tag}-c1`, state: 'TASK_STATE_WORKING' },
  { type: 'AGENT_MESSAGE', taskId: `${tag}-t1`, contextId: `${tag}-c1`, messageId: `${tag}-am1`, content: 'On it.' },
];

/** The delivered payload equals the published event, plus a timestamp the hub may add. */
function assertSameEvent(delivered, published, where) {
  const expected = withoutRouting(published);
  assert.ok('timestamp' in delivered, `${where}: delivered event has a timestamp`);
  const { timestamp: _t, ...rest } = delivered;
  const { timestamp: _e, ...restExpected } = expected;
  assert.deepEqual(rest, restExpected, `${where}: payload is the published event`);
}

describe('eventsource (npm) on the three streams', () => {
  let hub;
  const clients = useHub({ heartbeat: 5 }, (started) => { hub = started; });
  const open = (user, stream, opts) => {
    const c = new RecordingEventSource(`${hub.url}/api/v1/stream/${stream}`, { token: hub.token(user), ...opts });
    clients.push(c);
    return c;
  };

  it('fires open within 1 s on each of agui, a2a and contexts (first bytes sent at once)', async () => {
    const user = uniqueId('open');
    for (const stream of STREAMS) {
      const c = open(user, stream);
      await c.until((x) => x.opens.length === 1, 1_000, 'open');
      assert.ok(c.opens[0] - c.createdAt < 1_000, `${stream}: open after ${c.opens[0] - c.createdAt} ms`);
      assert.equal(c.errors.length, 0, `${stream}: no error event before open`);
      c.close();
    }
  });

  it('agui stream: onmessage gets bare AG-UI events, lastEventId = publish event_id, in publish order, no A2A', async () => {
    const user = uniqueId('agui');
    const c = open(user, 'agui');
    await c.until((x) => x.opens.length === 1, 5_000, 'open');
    const published = aguiEvents(user);
    const ids = [];
    for (const [i, ev] of published.entries()) {
      ids.push(await publishOk(hub, 'agui', { user_id: user, ...ev }));
      // An A2A event in between must not reach the agui stream.
      if (i === 1) await publishOk(hub, 'a2a', { user_id: user, ...a2aEvents(user)[0] });
    }
    await c.until((x) => x.messages.length >= published.length, 5_000, `${published.length} messages`);
    assert.equal(c.messages.length, published.length, 'exactly the AG-UI events, nothing else');
    assert.deepEqual(c.messages.map((m) => m.lastEventId), ids, 'lastEventId of each message is its event_id, in order');
    for (const [i, m] of c.messages.entries()) {
      assert.equal(m.type, 'message', 'dispatched as a plain message (no event: line)');
      assert.ok(m.json && !('protocol' in m.json) && !('user_id' in m.json), 'bare AG-UI event');
      assertSameEvent(m.json, published[i], `agui #${i}`);
      assert.ok(Number.isInteger(m.json.timestamp), 'the hub adds an integer (ms) timestamp to AG-UI events');
    }
  });

  it('a2a stream: onmessage gets bare A2A events, lastEventId = publish event_id, in publish order, no AG-UI', async () => {
    const user = uniqueId('a2a');
    const c = open(user, 'a2a');
    await c.until((x) => x.opens.length === 1, 5_000, 'open');
    const published = a2aEvents(user);
    const ids = [];
    for (const [i, ev] of published.entries()) {
      ids.push(await publishOk(hub, 'a2a', { user_id: user, ...ev }));
      if (i === 0) await publishOk(hub, 'agui', { user_id: user, ...aguiEvents(user)[0] });
    }
    await c.until((x) => x.messages.length >= published.length, 5_000, `${published.length} messages`);
    assert.equal(c.messages.length, published.length, 'exactly the A2A events, nothing else');
    assert.deepEqual(c.messages.map((m) => m.lastEventId), ids);
    for (const [i, m] of c.messages.entries()) {
      assert.equal(m.type, 'message');
      assert.ok(m.json && !('protocol' in m.json), 'bare A2A event');
      assertSameEvent(m.json, published[i], `a2a #${i}`);
      assert.equal(typeof m.json.timestamp, 'string', 'A2A timestamps default to RFC 3339');
      assert.ok(!Number.isNaN(Date.parse(m.json.timestamp)), 'RFC 3339 timestamp parses');
    }
  });

  it('contexts stream: CONTEXTS_SNAPSHOT first, then every AG-UI and A2A event wrapped {protocol,event} with its event_id, in order', async () => {
    const user = uniqueId('ctx');
    const c = open(user, 'contexts');
    await c.until((x) => x.messages.length >= 1, 5_000, 'the snapshot');
    const first = c.messages[0];
    assert.equal(first.type, 'message');
    assert.equal(first.json?.protocol, 'system', 'the first frame is a system event');
    assert.equal(first.json?.event?.type, 'CONTEXTS_SNAPSHOT', 'the first frame is the contexts snapshot');
    assert.ok(Array.isArray(first.json.event.contexts), 'snapshot.contexts is an array');

    const published = [];
    const ids = [];
    const ag = aguiEvents(user);
    const aa = a2aEvents(user);
    for (let i = 0; i < Math.max(ag.length, aa.length); i++) {
      if (ag[i]) { published.push({ protocol: 'agui', event: ag[i] }); ids.push(await publishOk(hub, 'agui', { user_id: user, ...ag[i] })); }
      if (aa[i]) { published.push({ protocol: 'a2a', event: aa[i] }); ids.push(await publishOk(hub, 'a2a', { user_id: user, ...aa[i] })); }
    }
    const userEvents = (x) => x.messages.filter((m) => m.json && m.json.protocol !== 'system');
    await c.until((x) => userEvents(x).length >= published.length, 5_000, `${published.length} wrapped events`);
    const got = userEvents(c);
    assert.equal(got.length, published.length, 'every published event exactly once');
    assert.deepEqual(got.map((m) => m.lastEventId), ids, 'lastEventId = event_id, in publish order');
    for (const [i, m] of got.entries()) {
      assert.equal(m.type, 'message');
      assert.deepEqual(Object.keys(m.json).sort(), ['event', 'protocol'], 'wrapped as {protocol, event}');
      assert.equal(m.json.protocol, published[i].protocol);
      assertSameEvent(m.json.event, published[i].event, `contexts #${i}`);
    }
    // System events (e.g. CONTEXT_CREATED) may be interleaved, but only wrapped as "system".
    for (const m of c.messages) assert.ok(['system', 'agui', 'a2a'].includes(m.json?.protocol), `known protocol: ${m.data}`);
  });

  it("a user's streams carry none of another user's events", async () => {
    const alice = uniqueId('alice');
    const bob = uniqueId('bob');
    const bobAgui = open(bob, 'agui');
    const bobCtx = open(bob, 'contexts');
    const aliceAgui = open(alice, 'agui');
    await Promise.all([bobAgui, bobCtx, aliceAgui].map((c) => c.until((x) => x.opens.length === 1, 5_000, 'open')));
    await bobCtx.until((x) => x.messages.length >= 1, 5_000, 'bob snapshot');
    for (const ev of aguiEvents(alice)) await publishOk(hub, 'agui', { user_id: alice, ...ev });
    await aliceAgui.until((x) => x.messages.length >= aguiEvents(alice).length, 5_000, "alice's events");
    // A marker for bob, published after alice's: once it arrived, anything of alice's would have too.
    const marker = await publishOk(hub, 'agui', { user_id: bob, type: 'CUSTOM', name: 'marker', value: 1 });
    await bobAgui.until((x) => x.messages.some((m) => m.lastEventId === marker), 5_000, 'bob marker');
    await bobCtx.until((x) => x.messages.some((m) => m.lastEventId === marker), 5_000, 'bob marker (contexts)');
    assert.deepEqual(bobAgui.messages.map((m) => m.lastEventId), [marker], "bob's agui stream: only bob's event");
    assert.equal(bobCtx.messages.filter((m) => m.json?.protocol !== 'system').length, 1, "bob's contexts stream: only bob's event");
    assert.ok(!JSON.stringify(bobCtx.messages.map((m) => m.data)).includes(alice), "alice's id never appears on bob's stream");
  });
});

describe('eventsource (npm): heartbeats', () => {
  let hub;
  const clients = useHub({ heartbeat: 0.5 }, (started) => { hub = started; });

  it('an idle stream gets named `heartbeat` events ({"type":"heartbeat"}) that do not reach onmessage', async () => {
    const user = uniqueId('hb');
    for (const stream of ['agui', 'a2a']) {
      const c = new RecordingEventSource(`${hub.url}/api/v1/stream/${stream}`, { token: hub.token(user) });
      clients.push(c);
      await c.until((x) => x.named.filter((n) => n.type === 'heartbeat').length >= 2, 5_000, 'two heartbeats');
      for (const n of c.named.filter((e) => e.type === 'heartbeat')) {
        assert.deepEqual(JSON.parse(n.data), { type: 'heartbeat' }, 'heartbeat data');
      }
      assert.equal(c.messages.length, 0, `${stream}: heartbeats are not delivered to onmessage`);
      // The first heartbeat comes after about one interval of silence, not at once and not late.
      const firstHb = c.named.find((n) => n.type === 'heartbeat').at - c.opens[0];
      assert.ok(firstHb >= 300 && firstHb < 3_000, `${stream}: first heartbeat after ${firstHb} ms (interval 500 ms)`);
      c.close();
    }
    // On the contexts stream a heartbeat follows the snapshot.
    const c = new RecordingEventSource(`${hub.url}/api/v1/stream/contexts`, { token: hub.token(user) });
    clients.push(c);
    await c.until((x) => x.named.some((n) => n.type === 'heartbeat'), 5_000, 'a heartbeat on contexts');
    assert.equal(c.messages.length, 1, 'contexts: only the snapshot as a message');
    c.close();
  });
});
