// @ag-ui/core's own zod schemas (EventSchemas) as the judge of what the hub delivers on the agui
// stream, and of what it must refuse on publish.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventType } from '@ag-ui/core';
import { EventSchemas } from '@ag-ui/core/schemas';
import { publish, publishOk, uniqueId, withoutRouting, useHub } from './lib/hub.mjs';
import { RecordingEventSource } from './lib/es-client.mjs';
import { aguiSamples, nestedInvalid } from './lib/agui-samples.mjs';

const ALL_TYPES = Object.values(EventType);

/** The member schema of EventSchemas for one type. */
function memberSchema(type) {
  const m = EventSchemas.options.find((o) => o.shape.type.safeParse(type).success);
  assert.ok(m, `EventSchemas has a member for ${type}`);
  return m;
}

/** Mutations zod rejects at the top level: each required field missing, or of a wrong JSON kind. */
function topLevelInvalid(type, sample) {
  const shape = memberSchema(type).shape;
  const out = [];
  for (const key of Object.keys(shape)) {
    if (key === 'type' || shape[key].safeParse(undefined).success) continue; // optional
    const { [key]: _gone, ...missing } = sample;
    out.push({ why: `${key} missing`, field: key, event: { type, ...missing } });
    for (const wrong of [12345, true, ['x'], { x: 1 }, 'a string']) {
      const ev = { type, ...sample, [key]: wrong };
      if (!EventSchemas.safeParse(ev).success) {
        out.push({ why: `${key} = ${JSON.stringify(wrong)}`, field: key, event: ev });
        break; // one wrong kind per field is enough
      }
    }
  }
  return out;
}

describe('@ag-ui/core schemas judge the agui stream', () => {
  let hub;
  // The verdict table judges AG-UI 1.0 itself: strict validation (compatible mode widens it on
  // purpose for the original system's back-end; golden tests in tests/golden cover that).
  const clients = useHub({ heartbeat: 30, extraArgs: ['--validation', 'strict'] }, (started) => { hub = started; });

  it('the samples cover every AG-UI event type @ag-ui/core defines, and each sample is valid', () => {
    const samples = aguiSamples('check');
    assert.deepEqual(Object.keys(samples).sort(), [...ALL_TYPES].sort(), 'one sample per EventType');
    for (const [type, sample] of Object.entries(samples)) {
      const r = EventSchemas.safeParse({ type, ...sample });
      assert.ok(r.success, `${type} sample is valid: ${JSON.stringify(r.error?.issues)}`);
    }
  });

  it('every AG-UI event type is accepted, delivered on agui (and wrapped on contexts) and parses with EventSchemas; hub timestamps are integer ms', async () => {
    const user = uniqueId('schemas');
    const agui = new RecordingEventSource(`${hub.url}/api/v1/stream/agui`, { token: hub.token(user) });
    const ctx = new RecordingEventSource(`${hub.url}/api/v1/stream/contexts`, { token: hub.token(user) });
    clients.push(agui, ctx);
    await Promise.all([agui, ctx].map((c) => c.until((x) => x.opens.length === 1, 5_000, 'open')));

    const published = [];
    for (const [type, sample] of Object.entries(aguiSamples(user))) {
      const event = { user_id: user, type, ...sample };
      const before = Date.now();
      const id = await publishOk(hub, 'agui', event);
      published.push({ id, type, event: withoutRouting(event), before, after: Date.now() });
    }
    // One with the publisher's own integer timestamp: kept as is.
    const ownTs = 1_700_000_000_123;
    const own = { user_id: user, type: 'STEP_STARTED', stepName: 'own-ts', timestamp: ownTs };
    published.push({ id: await publishOk(hub, 'agui', own), type: own.type, event: withoutRouting(own), own: true });

    await agui.until((x) => x.messages.length >= published.length, 10_000, `${published.length} events`);
    const wrapped = (x) => x.messages.filter((m) => m.json?.protocol === 'agui');
    await ctx.until((x) => wrapped(x).length >= published.length, 10_000, `${published.length} wrapped events`);
    assert.equal(agui.messages.length, published.length);
    assert.deepEqual(agui.messages.map((m) => m.lastEventId), published.map((p) => p.id));
    assert.deepEqual(wrapped(ctx).map((m) => m.lastEventId), published.map((p) => p.id));

    const seenTypes = new Set();
    for (const [i, m] of agui.messages.entries()) {
      const p = published[i];
      const r = EventSchemas.safeParse(m.json);
      assert.ok(r.success, `${p.type} as delivered parses with EventSchemas: ${JSON.stringify(r.error?.issues)} in ${m.data}`);
      assert.equal(r.data.type, p.type);
      seenTypes.add(r.data.type);
      const w = EventSchemas.safeParse(wrapped(ctx)[i].json.event);
      assert.ok(w.success, `${p.type} wrapped on contexts parses with EventSchemas: ${JSON.stringify(w.error?.issues)}`);
      assert.deepEqual(wrapped(ctx)[i].json.event, m.json, `${p.type}: same payload on agui and contexts`);
      const { timestamp, ...rest } = m.json;
      assert.ok(Number.isSafeInteger(timestamp), `${p.type}: timestamp is an integer: ${timestamp}`);
      if (p.own) {
        assert.equal(timestamp, ownTs, "the publisher's integer timestamp is kept");
      } else {
        assert.ok(timestamp >= p.before - 1_000 && timestamp <= p.after + 1_000,
          `${p.type}: the added timestamp is the publish time in ms (${p.before} <= ${timestamp} <= ${p.after})`);
      }
      const { timestamp: _t, ...expected } = p.event;
      assert.deepEqual(rest, expected, `${p.type}: delivered with every field as published`);
    }
    assert.deepEqual([...seenTypes].sort(), [...ALL_TYPES].sort(), 'every type was delivered');
  });

  it('events the schemas reject for a missing or wrongly typed required field are refused with 422 naming that field', async () => {
    const user = uniqueId('invalid');
    const cases = [];
    for (const [type, sample] of Object.entries(aguiSamples(user))) cases.push(...topLevelInvalid(type, sample));
    assert.ok(cases.length >= 40, `enough generated cases (${cases.length})`);
    const problems = [];
    for (const c of cases) {
      assert.equal(EventSchemas.safeParse(c.event).success, false, `zod rejects ${c.event.type} (${c.why})`);
      const res = await publish(hub, 'agui', { user_id: user, ...c.event });
      if (res.status !== 422 || res.body?.code !== 'validation_error' || res.body?.field !== c.field) {
        problems.push(`${c.event.type} (${c.why}): ${res.status} ${res.text}`);
      }
    }
    assert.deepEqual(problems, [], 'every rejected event answered 422 validation_error with field');
  });

  it('events the schemas reject deeper down (patch ops, outcomes, roles, nested messages, null optionals, fractional timestamps) are refused with 422 naming the field', async () => {
    const user = uniqueId('nested');
    const problems = [];
    for (const event of nestedInvalid(user)) {
      const r = EventSchemas.safeParse(event);
      assert.equal(r.success, false, `zod rejects ${JSON.stringify(event)}`);
      const zodTop = String(r.error.issues[0].path[0]);
      const res = await publish(hub, 'agui', { user_id: user, ...event });
      const field = res.body?.field;
      // The hub names the offending field; its top-level segment is the one zod reports.
      if (res.status !== 422 || res.body?.code !== 'validation_error' || typeof field !== 'string'
          || field.split(/[.[]/)[0] !== zodTop) {
        problems.push(`${JSON.stringify(event)} (zod: ${r.error.issues[0].path.join('.')}): ${res.status} ${res.text}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('an unknown AG-UI type is refused with 422 naming `type` (the schemas know no such event)', async () => {
    const user = uniqueId('unknown');
    for (const type of ['THINKING_START', 'NOT_AN_EVENT', 'text_message_start']) {
      const event = { type, messageId: 'm1' };
      assert.equal(EventSchemas.safeParse(event).success, false);
      const res = await publish(hub, 'agui', { user_id: user, ...event });
      assert.equal(res.status, 422, `${type}: ${res.text}`);
      assert.equal(res.body.code, 'validation_error');
      assert.equal(res.body.field, 'type');
    }
  });
});
