// The compat behaviours of SPEC §1, §2, §5 and §6 checked black-box with plain `fetch` and
// `eventsource-parser`, independent of the C++ test code: paths and redirects, methods, the
// exact success bodies, the error shape for every status, token sources, the per-user cap,
// the heartbeat styles and the operations endpoints. Every rejected request is followed by a
// check that nothing it carried was delivered.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHub, publish, publishOk, mintToken, uniqueId, waitFor, useHub, HERALD_BIN } from './lib/hub.mjs';
import { captureStream } from './lib/raw-stream.mjs';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** The ids of the events `onmessage` would see (no `event:` field): not connected, heartbeat or reset. */
const messageIds = (live) => live.filter((e) => !e.event).map((e) => e.id);
const MAX_BODY = 4096;

const textEvent = (user, delta) => ({ user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: 'm-1', delta });
const a2aEvent = (user, content) => ({
  user_id: user, type: 'AGENT_MESSAGE', taskId: 't-1', contextId: `${user}-c`, messageId: 'am-1', content,
});

async function readJson(res) {
  const text = await res.text();
  try { return { text, json: JSON.parse(text) }; } catch { return { text, json: null }; }
}

/**
 * Asserts the error shape of SPEC §1.5: the status, `application/json`, exactly
 * {code, message, timestamp} (plus `field` on a 422), a non-empty message and an RFC 3339
 * timestamp close to now. Returns the body.
 */
async function assertError(res, status, code, what) {
  const { text, json } = await readJson(res);
  assert.equal(res.status, status, `${what}: status (body ${text})`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${what}: JSON content type`);
  assert.ok(json && typeof json === 'object', `${what}: a JSON object body, got ${text}`);
  const keys = status === 422 ? ['code', 'field', 'message', 'timestamp'] : ['code', 'message', 'timestamp'];
  assert.deepEqual(Object.keys(json).sort(), keys, `${what}: the error keys (${text})`);
  assert.equal(json.code, code, `${what}: code`);
  assert.ok(typeof json.message === 'string' && json.message.length > 0, `${what}: a message`);
  assert.match(json.timestamp, RFC3339, `${what}: RFC 3339 timestamp`);
  assert.ok(Math.abs(Date.parse(json.timestamp) - Date.now()) < 60_000, `${what}: timestamp is now (${json.timestamp})`);
  return json;
}

/**
 * Watches one user's open streams (named as the caller likes): `expectOnly(ids)` publishes an
 * AG-UI marker, waits for it, and asserts that since the previous check each stream got exactly
 * `ids[name]` (event ids, in order) and the marker where it is routed — so a rejected request
 * provably delivered nothing.
 */
function deliveryChecker(hub, user, captures) {
  const seen = Object.fromEntries(Object.keys(captures).map((s) => [s, 0]));
  return async (expected = {}) => {
    const marker = await publishOk(hub, 'agui', textEvent(user, 'marker'));
    for (const [stream, cap] of Object.entries(captures)) {
      const want = [...(expected[stream] ?? [])];
      // The marker is an AG-UI event: it goes to agui and contexts streams, not to a2a ones.
      if (!new URL(cap.res.url).pathname.endsWith('/a2a')) want.push(marker);
      const last = want.at(-1);
      if (last) await cap.until((live) => live.some((e) => e.id === last), 5_000, `${stream}: event ${last}`);
      const got = messageIds(cap.live.slice(seen[stream]));
      assert.deepEqual(got, want, `${stream}: exactly the accepted events since the last check`);
      seen[stream] = cap.live.length;
    }
  };
}

describe('compat: paths, methods and success bodies', () => {
  let hub;
  const captures = useHub({ heartbeat: 30 }, (started) => { hub = started; });
  const open = async (user, stream) => {
    const cap = await captureStream(`${hub.url}/api/v1/stream/${stream}`, { token: hub.token(user) });
    captures.push(cap);
    return cap;
  };

  it('a trailing slash on an /api/ path answers 308 to the path without it, the query kept; a POST that follows it publishes once', async () => {
    const user = uniqueId('slash');
    const token = hub.token(user);
    for (const [path, location] of [
      ['/api/v1/stream/agui/?context_id=c-1&last_event_id=x', '/api/v1/stream/agui?context_id=c-1&last_event_id=x'],
      ['/api/v1/stream/contexts/', '/api/v1/stream/contexts'],
      ['/api/v1/core/contexts/?a=%20b', '/api/v1/core/contexts?a=%20b'],
      ['/api/v1/health/', '/api/v1/health'],
    ]) {
      const res = await hub.fetch(path, { redirect: 'manual', headers: { Authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      assert.equal(res.status, 308, `${path}: 308`);
      assert.equal(res.headers.get('location'), location, `${path}: Location`);
    }
    const agui = await open(user, 'agui');
    const contexts = await open(user, 'contexts');
    const expectOnly = deliveryChecker(hub, user, { agui, contexts });
    await contexts.until((live) => live.length >= 1, 5_000, 'the snapshot');
    const unfollowed = await hub.fetch('/api/v1/webhook/agui/', {
      method: 'POST', redirect: 'manual',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(textEvent(user, 'not followed')),
    });
    await unfollowed.arrayBuffer();
    assert.equal(unfollowed.status, 308, 'POST with a trailing slash: 308');
    assert.equal(unfollowed.headers.get('location'), '/api/v1/webhook/agui');
    // 308 keeps the method and the body: fetch re-sends the POST to the Location.
    const followed = await hub.fetch('/api/v1/webhook/agui/', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(textEvent(user, 'followed')),
    });
    const { json } = await readJson(followed);
    assert.equal(followed.status, 200, 'the followed POST is published');
    assert.equal(json.status, 'broadcasted');
    await expectOnly({ agui: [json.event_id], contexts: [contexts.live[0].id, json.event_id] });
  });

  it('every method but GET on a stream path answers 405 with `Allow: GET` and the JSON error; publish paths allow only POST', async () => {
    const token = hub.token(uniqueId('method'));
    for (const stream of ['agui', 'a2a', 'contexts']) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await hub.fetch(`/api/v1/stream/${stream}`, {
          method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: method === 'DELETE' ? undefined : '{}',
        });
        assert.equal(res.headers.get('allow'), 'GET', `${method} ${stream}: Allow`);
        await assertError(res, 405, 'method_not_allowed', `${method} /api/v1/stream/${stream}`);
      }
    }
    for (const path of ['/api/v1/webhook/agui', '/api/v1/webhook/a2a', '/api/v1/events']) {
      const res = await hub.fetch(path, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(res.headers.get('allow'), 'POST', `GET ${path}: Allow`);
      await assertError(res, 405, 'method_not_allowed', `GET ${path}`);
    }
  });

  it('a stream answers 200 with text/event-stream, Cache-Control: no-cache and X-Accel-Buffering: no', async () => {
    const user = uniqueId('headers');
    for (const stream of ['agui', 'a2a', 'contexts']) {
      const cap = await open(user, stream);
      assert.equal(cap.res.status, 200, `${stream}: 200`);
      assert.match(cap.res.headers.get('content-type'), /^text\/event-stream/, `${stream}: content type`);
      assert.equal(cap.res.headers.get('cache-control'), 'no-cache', `${stream}: Cache-Control`);
      assert.equal(cap.res.headers.get('x-accel-buffering'), 'no', `${stream}: X-Accel-Buffering`);
    }
  });

  it('a webhook answers exactly {status:"broadcasted", connection_count, event_id}: 0 with no subscriber, then one per stream delivery, and event_id is the SSE id delivered', async () => {
    const user = uniqueId('webhook');
    for (const protocol of ['agui', 'a2a']) {
      const event = protocol === 'agui' ? textEvent(user, 'nobody') : a2aEvent(user, 'nobody');
      const res = await publish(hub, protocol, event);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['connection_count', 'event_id', 'status'], `${protocol}: keys (${res.text})`);
      assert.equal(res.body.status, 'broadcasted');
      assert.equal(res.body.connection_count, 0, `${protocol}: no subscriber`);
      assert.match(res.body.event_id, /^[\x21-\x7e]+$/, 'event_id is printable ASCII');
    }
    const agui1 = await open(user, 'agui');
    const agui2 = await open(user, 'agui');
    const a2a = await open(user, 'a2a');
    const contexts = await open(user, 'contexts');
    await contexts.until((live) => live.length >= 1, 5_000, 'the snapshot');
    const expectOnly = deliveryChecker(hub, user, { agui1, agui2, a2a, contexts });
    await expectOnly({ contexts: [contexts.live[0].id] });
    const ag = await publish(hub, 'agui', textEvent(user, 'three deliveries'));
    assert.equal(ag.status, 200, ag.text);
    assert.equal(ag.body.connection_count, 3, 'agui: two agui streams + contexts');
    const aa = await publish(hub, 'a2a', a2aEvent(user, 'two deliveries'));
    assert.equal(aa.status, 200, aa.text);
    assert.equal(aa.body.connection_count, 2, 'a2a: the a2a stream + contexts');
    await expectOnly({
      agui1: [ag.body.event_id], agui2: [ag.body.event_id], a2a: [aa.body.event_id],
      contexts: [ag.body.event_id, aa.body.event_id],
    });
  });

  it('the context route answers exactly {success, protocol, broadcast_count, context_id, event_id}; a system envelope reaches only the contexts stream', async () => {
    const user = uniqueId('ctxroute');
    const token = hub.token(user);
    const agui = await open(user, 'agui');
    const a2a = await open(user, 'a2a');
    const contexts = await open(user, 'contexts');
    await contexts.until((live) => live.length >= 1, 5_000, 'the snapshot');
    const created = await hub.fetch('/api/v1/core/contexts', {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'compat' }),
    });
    const { json: createdBody } = await readJson(created);
    assert.equal(created.status, 201);
    const contextId = createdBody.data.context_id;
    await contexts.until((live) => live.length >= 2, 5_000, 'CONTEXT_CREATED');
    const expectOnly = deliveryChecker(hub, user, { agui, a2a, contexts });
    await expectOnly({ contexts: [contexts.live[0].id, contexts.live[1].id] });

    const post = (envelope) => hub.fetch(`/api/v1/core/contexts/${contextId}/events`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(envelope),
    });
    const answers = {};
    for (const [protocol, event, count] of [
      ['agui', { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm-9', delta: 'via context' }, 2],
      ['a2a', { type: 'AGENT_MESSAGE', taskId: 't-9', contextId, messageId: 'am-9', content: 'via context' }, 2],
      ['system', { type: 'CONNECTED', connectionId: 'c-9' }, 1],
    ]) {
      const res = await post({ protocol, event });
      const { text, json } = await readJson(res);
      assert.equal(res.status, 200, `${protocol}: ${text}`);
      assert.deepEqual(Object.keys(json).sort(), ['broadcast_count', 'context_id', 'event_id', 'protocol', 'success'], `${protocol}: keys (${text})`);
      assert.equal(json.success, true);
      assert.equal(json.protocol, protocol);
      assert.equal(json.broadcast_count, count, `${protocol}: broadcast_count`);
      assert.equal(json.context_id, contextId);
      answers[protocol] = json.event_id;
    }
    await expectOnly({
      agui: [answers.agui], a2a: [answers.a2a], contexts: [answers.agui, answers.a2a, answers.system],
    });
    const system = JSON.parse(contexts.live.find((e) => e.id === answers.system).data);
    assert.equal(system.protocol, 'system');
    assert.equal(system.event.type, 'CONNECTED');
    assert.equal(system.event.connectionId, 'c-9');
    assert.match(system.event.timestamp, RFC3339, 'a system event gets an RFC 3339 timestamp');
  });

  it('/health and /api/v1/health answer 200 {"status":"healthy"}, /readyz 200, /metrics Prometheus text, / the dashboard page', async () => {
    for (const path of ['/health', '/api/v1/health']) {
      const res = await hub.fetch(path);
      const { json, text } = await readJson(res);
      assert.equal(res.status, 200, `${path}: ${text}`);
      assert.match(res.headers.get('content-type'), /^application\/json/);
      assert.deepEqual(json, { status: 'healthy' }, path);
    }
    const ready = await hub.fetch('/readyz');
    await ready.arrayBuffer();
    assert.equal(ready.status, 200, '/readyz');

    const metrics = await hub.fetchMetrics();
    const text = await metrics.text();
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.]+([eE][+-]?[0-9]+)?|NaN|[+-]Inf)$/;
    const lines = text.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 10, 'metrics has content');
    for (const line of lines) {
      if (line.startsWith('#')) assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/, line);
      else assert.match(line, sample, `a sample line: ${line}`);
    }
    assert.ok(lines.some((l) => l.startsWith('# TYPE herald_')), 'herald_ metric families');

    const page = await hub.fetch('/');
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.match(html, /^<!doctype html>/i, 'an HTML document');
    assert.match(html, /EventSource/, 'the page subscribes with EventSource');
    // Its policy names its inline script and style by SHA-256, computed here independently.
    const inline = (tag) => [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))]
      .map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`).join(' ');
    assert.equal(page.headers.get('content-security-policy'),
      `default-src 'none'; script-src ${inline('script')}; style-src ${inline('style')}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
  });
});

describe('compat: the error shape for every status, and nothing delivered', () => {
  let hub;
  let user;
  let token;
  let expectOnly;
  const captures = useHub({ heartbeat: 30, extraArgs: ['--max-body-bytes', String(MAX_BODY)] }, (started) => { hub = started; });
  before(async () => {
    user = uniqueId('errors');
    token = hub.token(user);
    for (const stream of ['agui', 'a2a', 'contexts']) {
      captures.push(await captureStream(`${hub.url}/api/v1/stream/${stream}`, { token }));
    }
    const [agui, a2a, contexts] = captures;
    await contexts.until((live) => live.length >= 1, 5_000, 'the snapshot');
    expectOnly = deliveryChecker(hub, user, { agui, a2a, contexts });
    await expectOnly({ contexts: [contexts.live[0].id] });
  });
  const post = (path, body, { contentType = 'application/json', auth = `Bearer ${token}`, headers = {} } = {}) =>
    hub.fetch(path, {
      method: 'POST',
      headers: { ...(contentType ? { 'Content-Type': contentType } : {}), ...(auth ? { Authorization: auth } : {}), ...headers },
      body,
    });

  it('400 bad_request: malformed JSON, a JSON body that is not an object, a malformed context id', async () => {
    for (const body of ['{"type":', 'not json', '{"user_id":"x",}', '']) {
      await assertError(await post('/api/v1/webhook/agui', body), 400, 'bad_request', `body ${JSON.stringify(body)}`);
    }
    await assertError(await post('/api/v1/webhook/a2a', '[1,2'), 400, 'bad_request', 'a2a malformed');
    const res = await hub.fetch('/api/v1/core/contexts/..%2F..%2Fetc', { headers: { Authorization: `Bearer ${token}` } });
    await assertError(res, 400, 'bad_request', 'malformed context id');
    await expectOnly();
  });

  it('401 unauthorized with WWW-Authenticate: Bearer: no token, garbage, another secret, another scheme — on publish and on every stream', async () => {
    const otherSecret = mintToken('another-secret-of-thirty-two-bytes!!', user);
    for (const [what, auth] of [
      ['no token', null], ['garbage', 'Bearer not.a.jwt'], ['another secret', `Bearer ${otherSecret}`],
      ['Basic scheme', `Basic ${Buffer.from(`${user}:x`).toString('base64')}`], ['empty bearer', 'Bearer '],
    ]) {
      const res = await post('/api/v1/webhook/agui', JSON.stringify(textEvent(user, `401 ${what}`)), { auth });
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, `${what}: WWW-Authenticate`);
      await assertError(res, 401, 'unauthorized', `publish, ${what}`);
      for (const stream of ['agui', 'a2a', 'contexts']) {
        const s = await hub.fetch(`/api/v1/stream/${stream}`, { headers: auth ? { Authorization: auth } : {} });
        assert.match(s.headers.get('www-authenticate') ?? '', /^Bearer\b/, `${stream}, ${what}: WWW-Authenticate`);
        await assertError(s, 401, 'unauthorized', `${stream}, ${what}`);
      }
    }
    await expectOnly();
  });

  it('403 forbidden "User ID mismatch…" when a token without events:publish publishes for another user, without naming that user; the other user gets nothing', async () => {
    const victim = uniqueId('victim');
    const victimStream = await captureStream(`${hub.url}/api/v1/stream/agui`, { token: hub.token(victim) });
    captures.push(victimStream);
    for (const protocol of ['agui', 'a2a']) {
      const event = protocol === 'agui' ? textEvent(victim, 'spoofed') : a2aEvent(victim, 'spoofed');
      const res = await post(`/api/v1/webhook/${protocol}`, JSON.stringify(event));
      const body = await assertError(res, 403, 'forbidden', `${protocol} for another user`);
      assert.match(body.message, /^User ID mismatch/, 'the compat message');
      assert.ok(!body.message.includes(victim) && !body.message.includes(user), `no user id in "${body.message}"`);
    }
    const batch = await post('/api/v1/events', JSON.stringify([{ user_id: victim, protocol: 'agui', event: { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'spoofed' } }]));
    const { text, json } = await readJson(batch);
    assert.equal(batch.status, 200, `a batch answers per item: ${text}`);
    assert.equal(json.results.length, 1);
    assert.equal(json.results[0].status, 403, `the item is refused: ${text}`);
    assert.equal(json.results[0].code, 'forbidden');
    assert.match(json.results[0].message, /^User ID mismatch/);
    assert.ok(!text.includes(victim), 'the batch answer names no other user');
    // The victim's own event is the first thing on their stream: nothing spoofed arrived before it.
    const own = await publishOk(hub, 'agui', textEvent(victim, 'own'));
    await victimStream.until((live) => live.some((e) => e.id === own), 5_000, 'the victim\'s own event');
    assert.deepEqual(messageIds(victimStream.live), [own], 'the victim got only their own event');
    await expectOnly();
  });

  it('404 not_found: an unknown path, an unknown context', async () => {
    for (const path of ['/api/v1/nope', '/api/v2/stream/agui', '/api/v1/stream/agui/extra', '/api/v1/core/contexts/0b7e7e2c-9a4f-4c8e-8d3c-1f2a3b4c5d6e']) {
      await assertError(await hub.fetch(path, { headers: { Authorization: `Bearer ${token}` } }), 404, 'not_found', path);
    }
  });

  it(`413 payload_too_large for a body of --max-body-bytes + 1 (${MAX_BODY + 1}); a body of exactly ${MAX_BODY} bytes is published`, async () => {
    const sized = (n) => {
      const base = JSON.stringify(textEvent(user, ''));
      const body = JSON.stringify(textEvent(user, 'x'.repeat(n - Buffer.byteLength(base))));
      assert.equal(Buffer.byteLength(body), n);
      return body;
    };
    await assertError(await post('/api/v1/webhook/agui', sized(MAX_BODY + 1)), 413, 'payload_too_large', 'one byte over');
    await assertError(await post('/api/v1/webhook/agui', sized(MAX_BODY * 4)), 413, 'payload_too_large', 'four times over');
    const exact = await post('/api/v1/webhook/agui', sized(MAX_BODY));
    const { json, text } = await readJson(exact);
    assert.equal(exact.status, 200, `exactly the limit: ${text}`);
    await expectOnly({ agui: [json.event_id], contexts: [json.event_id] });
  });

  it('415 unsupported_media_type for a JSON body sent as text/plain, form data or without a Content-Type; application/json with a charset is accepted', async () => {
    const body = JSON.stringify(textEvent(user, '415'));
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', null, 'application/jsonx']) {
      await assertError(await post('/api/v1/webhook/agui', body, { contentType }), 415, 'unsupported_media_type', `Content-Type ${contentType}`);
    }
    const ok = await post('/api/v1/webhook/agui', JSON.stringify(textEvent(user, 'charset')), { contentType: 'Application/JSON; charset=utf-8' });
    const { json, text } = await readJson(ok);
    assert.equal(ok.status, 200, text);
    await expectOnly({ agui: [json.event_id], contexts: [json.event_id] });
  });

  it('422 validation_error names the field: a missing or wrongly typed field, an unknown type, JSON nested over 64 levels, a bad id', async () => {
    let deep = { leaf: 1 };
    for (let i = 0; i < 70; i++) deep = { d: deep };
    for (const [protocol, event, field] of [
      ['agui', { user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: 'm' }, 'delta'],
      ['agui', { user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 7 }, 'delta'],
      ['agui', { user_id: user, type: 'NOT_AN_AGUI_TYPE' }, 'type'],
      ['agui', { user_id: user, messageId: 'm', delta: 'x' }, 'type'],
      ['a2a', { user_id: user, type: 'TASK_STATUS_UPDATE', taskId: 't', contextId: 'c', state: 'TASK_STATE_SLEEPING' }, 'state'],
      ['a2a', { user_id: user, type: 'AGENT_MESSAGE', taskId: '', contextId: 'c', messageId: 'm', content: 'x' }, 'taskId'],
      ['agui', { user_id: user, type: 'CUSTOM', name: 'deep', value: deep }, null],
    ]) {
      const body = await assertError(await post(`/api/v1/webhook/${protocol}`, JSON.stringify(event)), 422, 'validation_error', `${protocol} ${event.type} → ${field}`);
      if (field) assert.match(body.field, new RegExp(`(^|\\.)${field}$`), `names ${field}: ${JSON.stringify(body)}`);
      else assert.ok(body.field.length > 0, 'names a field');
    }
    await expectOnly();
  });

  it('a malformed Last-Event-ID is treated as absent: 200, no reset, live events follow', async () => {
    for (const bad of ['garbage', '../../etc/passwd', '-1', '99999999999999999999999', 'abcdef01-00', 'abcdef01-01']) {
      const cap = await captureStream(`${hub.url}/api/v1/stream/agui`, { token, headers: { 'Last-Event-ID': bad } });
      captures.push(cap);
      assert.equal(cap.res.status, 200, `Last-Event-ID ${bad}`);
      const id = await publishOk(hub, 'agui', textEvent(user, `after ${bad}`));
      await cap.until((live) => live.some((e) => e.id === id), 5_000, 'the live event');
      assert.deepEqual(cap.live.map((e) => e.event ?? 'message'), ['connected', 'message'], `Last-Event-ID ${bad}: a fresh stream (connected, no reset), then the live event`);
      assert.equal(cap.live[1].id, id);
      await cap.stop();
      captures.splice(captures.indexOf(cap), 1);
    }
  });
});

describe('compat: tokens and the per-user connection cap', () => {
  let hub;
  let queryHub;
  const captures = useHub({ heartbeat: 30 }, (started) => { hub = started; });
  useHub({ heartbeat: 0.3, extraArgs: ['--allow-query-token', '--heartbeat-style', 'comment'] }, (started) => { queryHub = started; });
  const open = async (url, opts) => {
    const cap = await captureStream(url, opts);
    captures.push(cap);
    return cap;
  };
  const close = async (cap) => {
    await cap.stop();
    captures.splice(captures.indexOf(cap), 1);
  };

  it('token sources: Bearer, then the access_token cookie among others; ?access_token= answers 401 unless --allow-query-token', async () => {
    const alice = uniqueId('alice');
    const bob = uniqueId('bob');
    const cookie = await open(`${hub.url}/api/v1/stream/agui`, { headers: { Cookie: `theme=dark; access_token=${hub.token(alice)}; lang=en` } });
    assert.equal(cookie.res.status, 200, 'cookie auth');
    // Bearer comes first: Alice's header with Bob's cookie is Alice's stream.
    const both = await open(`${hub.url}/api/v1/stream/agui`, { token: hub.token(alice), headers: { Cookie: `access_token=${hub.token(bob)}` } });
    assert.equal(both.res.status, 200, 'bearer + cookie');
    const query = await hub.fetch(`/api/v1/stream/agui?access_token=${hub.token(alice)}`);
    await assertError(query, 401, 'unauthorized', '?access_token= by default');

    const bobId = await publishOk(hub, 'agui', textEvent(bob, 'for bob'));
    const aliceId = await publishOk(hub, 'agui', textEvent(alice, 'for alice'));
    for (const [name, cap] of [['cookie', cookie], ['bearer + cookie', both]]) {
      await cap.until((live) => live.some((e) => e.id === aliceId), 5_000, `${name}: Alice's event`);
      assert.deepEqual(messageIds(cap.live), [aliceId], `${name}: Alice's event only (Bob's ${bobId} not delivered)`);
    }

    const allowed = await open(`${queryHub.url}/api/v1/stream/agui?access_token=${queryHub.token(alice)}`, {});
    assert.equal(allowed.res.status, 200, '?access_token= with --allow-query-token');
    const id = await publishOk(queryHub, 'agui', textEvent(alice, 'query token'));
    await allowed.until((live) => live.some((e) => e.id === id), 5_000, 'the event on the query-token stream');
  });

  it('--heartbeat-style comment keeps an idle stream alive with `:heartbeat` comments, no `event: heartbeat`', async () => {
    const user = uniqueId('comment');
    const cap = await open(`${queryHub.url}/api/v1/stream/a2a`, { token: queryHub.token(user) });
    await cap.until((_, c) => c.comments.filter((x) => x === 'heartbeat').length >= 2, 5_000, 'two comment heartbeats');
    assert.deepEqual(cap.live.map((e) => e.event), ['connected'], 'heartbeat comments are not events');
    assert.ok(!cap.text().includes('event: heartbeat'), 'no event: heartbeat');
    assert.match(cap.text(), /^retry: 2000\n:ok\nid: [0-9a-f]{8}-0\nevent: connected\ndata: [^\n]+\n\n(:heartbeat\n\n)+$/,
      'only the opening and comment heartbeats');
  });

  it('per-user cap: the 11th stream of a user gets 429 rate_limited with Retry-After: 5; other streams and users are independent; closing one frees exactly one slot', async () => {
    const user = uniqueId('cap');
    const url = (stream) => `${hub.url}/api/v1/stream/${stream}`;
    const token = hub.token(user);
    const held = [];
    for (let i = 0; i < 10; i++) {
      const cap = await open(url('agui'), { token });
      assert.equal(cap.res.status, 200, `agui connection ${i + 1}`);
      held.push(cap);
    }
    const over = await hub.fetch('/api/v1/stream/agui', { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(over.headers.get('retry-after'), '5', 'Retry-After');
    await assertError(over, 429, 'rate_limited', 'the 11th agui stream');

    for (const [what, streamUrl, tok] of [
      ['the same user on a2a', url('a2a'), token],
      ['the same user on contexts', url('contexts'), token],
      ['another user on agui', url('agui'), hub.token(uniqueId('cap-other'))],
    ]) {
      const cap = await open(streamUrl, { token: tok });
      assert.equal(cap.res.status, 200, what);
    }
    // The ten held streams are live: a publish reaches each once.
    const id = await publishOk(hub, 'agui', textEvent(user, 'to ten'));
    for (const cap of held) await cap.until((live) => live.some((e) => e.id === id), 5_000, 'the event on a held stream');
    assert.ok(held.every((cap) => messageIds(cap.live).length === 1), 'each held stream got the event once');

    await close(held.pop());
    const reopened = await waitFor(async () => {
      const cap = await open(url('agui'), { token });
      if (cap.res.status === 200) return cap;
      await close(cap);
      return null;
    }, { timeoutMs: 5_000, intervalMs: 50, what: 'the freed slot' });
    held.push(reopened);
    const again = await hub.fetch('/api/v1/stream/agui', { headers: { Authorization: `Bearer ${token}` } });
    await assertError(again, 429, 'rate_limited', 'the cap holds again after the slot was reused');
  });
});

describe('compat: rate limits set by the command line', () => {
  let hub;
  const captures = useHub({
    heartbeat: 30,
    extraArgs: [
      '--rate-limit-stream-opens', '0.001', '--rate-limit-stream-opens-burst', '2',
      '--rate-limit-publishes', '0.001', '--rate-limit-publishes-burst', '2',
      '--rate-limit-unauthenticated', '0.001', '--rate-limit-unauthenticated-burst', '2',
    ],
  }, (started) => { hub = started; });
  // One token per 1000 s: each budget is its burst, and Retry-After is 1000.
  const assertLimited = async (res, what) => {
    assert.equal(res.headers.get('retry-after'), '1000', `${what}: Retry-After`);
    assert.equal(res.headers.get('www-authenticate'), null, `${what}: a 429, not a 401`);
    await assertError(res, 429, 'rate_limited', what);
  };

  it('stream opens, publishes and requests without a token each get 429 rate_limited past their burst; refused publishes are not delivered', async () => {
    const user = uniqueId('rate');
    const token = hub.token(user);
    const agui = await captureStream(`${hub.url}/api/v1/stream/agui`, { token });
    captures.push(agui);
    const a2a = await captureStream(`${hub.url}/api/v1/stream/a2a`, { token });
    captures.push(a2a);
    assert.equal(agui.res.status, 200);
    assert.equal(a2a.res.status, 200);
    await assertLimited(await hub.fetch('/api/v1/stream/contexts', { headers: { Authorization: `Bearer ${token}` } }), 'the third stream open');

    const accepted = [await publishOk(hub, 'agui', textEvent(user, 'one')), await publishOk(hub, 'agui', textEvent(user, 'two'))];
    const refused = await publish(hub, 'agui', textEvent(user, 'refused'));
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.headers.get('retry-after'), '1000');
    assert.equal(refused.body.code, 'rate_limited');
    // A service token publishing for the user spends its own budget: its event is the marker.
    const marker = await publishOk(hub, 'agui', textEvent(user, 'marker'), { token: hub.token('svc', { scope: 'events:publish' }) });
    await agui.until((live) => live.some((e) => e.id === marker), 5_000, 'the marker');
    assert.deepEqual(messageIds(agui.live), [...accepted, marker], 'exactly the accepted events');
    assert.ok(!agui.text().includes('refused'), 'the refused event was not delivered');

    for (let i = 0; i < 2; i++) {
      const res = await hub.fetch('/api/v1/stream/agui');
      await assertError(res, 401, 'unauthorized', `unauthenticated request ${i + 1}`);
    }
    await assertLimited(await hub.fetch('/api/v1/stream/agui'), 'the third request without a token');

    const metrics = await (await hub.fetchMetrics()).text();
    for (const [kind, n] of [['stream_open', 1], ['publish', 1], ['unauthenticated', 1]]) {
      assert.match(metrics, new RegExp(`^herald_rate_limited_total\\{kind="${kind}"\\} ${n}$`, 'm'), kind);
    }
  });
});

describe('compat: configuration errors', () => {
  it('herald serve refuses an HS256 secret shorter than 32 bytes with a one-line reason (in --dev it warns and starts), and says nothing for 32', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-conf-secret-'));
    try {
      const run = spawnSync(HERALD_BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--jwt-secret', 'x'.repeat(31)], { encoding: 'utf8', timeout: 10_000 });
      assert.notEqual(run.status, 0, 'non-zero exit');
      assert.equal(run.stderr, 'herald: --jwt-secret is 31 bytes: HS256 wants at least 32 (256 bits, RFC 7518 section 3.2), or it can be guessed from one token; make one with: openssl rand -hex 32\n');
      assert.ok(!run.stdout.includes('listening on'), 'never listened');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const [secret, args, warned] of [['short-secret', ['--dev'], true], ['x'.repeat(32), [], false]]) {
      const hub = await startHub({ secret, extraArgs: args });
      try {
        assert.equal(/--jwt-secret is \d+ bytes: HS256 wants at least 32/.test(hub.output), warned, `${secret.length} bytes: ${hub.output}`);
      } finally {
        await hub.stop();
      }
    }
  });

  it('herald serve exits non-zero with a one-line reason for a bad rate limit (and naming the flag for a bad --validation or --compat-frames), and never starts listening', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-conf-config-'));
    try {
      for (const [args, reason] of [
        [['--rate-limit-publishes', '-1'], '--rate-limit-publishes must be >= 0'],
        [['--rate-limit-stream-opens', '5', '--rate-limit-stream-opens-burst', '0'], '--rate-limit-stream-opens-burst must be >= 1'],
        [['--rate-limit-unauthenticated', '2', '--rate-limit-unauthenticated-burst', '0.5'], '--rate-limit-unauthenticated-burst must be >= 1'],
        [['--heartbeat-interval', '0'], '--heartbeat-interval must be > 0'],
      ]) {
        const run = spawnSync(HERALD_BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--jwt-secret', 'x'.repeat(32), ...args], { encoding: 'utf8', timeout: 10_000 });
        assert.notEqual(run.status, 0, `${args.join(' ')}: non-zero exit`);
        assert.equal(run.stderr, `herald: ${reason}\n`, `${args.join(' ')}: one line`);
        assert.ok(!run.stdout.includes('listening on'), 'never listened');
      }
      // Values outside a flag's set: refused by the flag parser, naming the flag and the value.
      for (const args of [['--validation', 'lenient'], ['--compat-frames', 'maybe']]) {
        const run = spawnSync(HERALD_BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--jwt-secret', 'x'.repeat(32), ...args], { encoding: 'utf8', timeout: 10_000 });
        assert.notEqual(run.status, 0, `${args.join(' ')}: non-zero exit`);
        assert.ok(run.stderr.includes(args[0]) && run.stderr.includes(args[1]), `${args.join(' ')}: ${run.stderr}`);
        assert.ok(!run.stdout.includes('listening on'), 'never listened');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
