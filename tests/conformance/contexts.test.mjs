// Contexts (SPEC §1.3, §3.1, §3.4, §4), seen by independent clients: the npm `eventsource` client
// and Chromium's native EventSource. Written against the SPEC, not against the C++ tests.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, publishOk, uniqueId, parseEventId, useHub } from './lib/hub.mjs';
import { RecordingEventSource } from './lib/es-client.mjs';
import { launchChromium, pageWithToken, openNativeEventSource, readRecorder, waitInPage } from './lib/browser.mjs';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const SNAPSHOT_ENTRY_KEYS = ['context_id', 'name', 'created_at', 'updated_at', 'message_count', 'task_count'];

/** JSON request to the hub's API as `token`'s user. */
async function api(hub, method, path, token, body) {
  const init = { method, headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`${hub.url}${path}`, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* left null */ }
  return { status: res.status, body: json, text, where: `${method} ${path} -> ${res.status} ${text.slice(0, 300)}` };
}

/** A time the spec allows in a context: RFC 3339 text or integer epoch ms. */
function assertTime(v, what) {
  if (typeof v === 'string') assert.match(v, RFC3339, `${what} is RFC 3339`);
  else assert.ok(Number.isSafeInteger(v), `${what} is a time: ${JSON.stringify(v)}`);
}

const systemEvents = (c, type) => c.messages.filter((m) => m.json?.protocol === 'system' && m.json.event?.type === type);

describe('contexts (SPEC §1.3/§3.1/§4) through independent clients', () => {
  let hub;
  const clients = useHub({ heartbeat: 30 }, (started) => { hub = started; });
  const open = (user, stream = 'contexts') => {
    const c = new RecordingEventSource(`${hub.url}/api/v1/stream/${stream}`, { token: hub.token(user) });
    clients.push(c);
    return c;
  };

  it('POST /api/v1/core/contexts {"name"} answers 201 with the envelope {data:{context_id,user_id,name,kind,created_at,updated_at}, meta:{timestamp,version:"1.0.0"}}, name trimmed', async () => {
    const user = uniqueId('create');
    const res = await api(hub, 'POST', '/api/v1/core/contexts', hub.token(user), { name: '  Trip planning  ' });
    assert.equal(res.status, 201, res.where);
    assert.deepEqual(Object.keys(res.body).sort(), ['data', 'meta'], res.where);
    const d = res.body.data;
    for (const k of ['context_id', 'user_id', 'name', 'kind', 'created_at', 'updated_at']) assert.ok(k in d, `data.${k} present: ${res.where}`);
    assert.equal(typeof d.context_id, 'string');
    assert.ok(d.context_id.length > 0);
    assert.equal(d.user_id, user);
    assert.equal(d.name, 'Trip planning', 'the name is trimmed');
    assertTime(d.created_at, 'created_at');
    assertTime(d.updated_at, 'updated_at');
    assert.match(res.body.meta.timestamp, RFC3339, 'meta.timestamp is RFC 3339');
    assert.equal(res.body.meta.version, '1.0.0');
  });

  it('creating a context emits CONTEXT_CREATED {contextId,name}, wrapped with protocol "system", on the owner\'s contexts stream only', async () => {
    const user = uniqueId('created');
    const ctx = open(user);
    const agui = open(user, 'agui');
    const other = open(uniqueId('other'));
    await ctx.until((x) => x.messages.length >= 1, 5_000, 'the snapshot');
    await other.until((x) => x.messages.length >= 1, 5_000, 'the other user\'s snapshot');
    await agui.until((x) => x.opens.length >= 1, 5_000, 'open');
    const res = await api(hub, 'POST', '/api/v1/core/contexts', hub.token(user), { name: 'Research' });
    assert.equal(res.status, 201, res.where);
    const contextId = res.body.data.context_id;
    await ctx.until((x) => systemEvents(x, 'CONTEXT_CREATED').length >= 1, 5_000, 'CONTEXT_CREATED');
    const m = systemEvents(ctx, 'CONTEXT_CREATED')[0];
    assert.equal(m.type, 'message', 'delivered to onmessage');
    assert.deepEqual(Object.keys(m.json).sort(), ['event', 'protocol']);
    assert.equal(m.json.event.contextId, contextId, 'camelCase contextId = the new context_id');
    assert.equal(m.json.event.name, 'Research');
    assertTime(m.json.event.timestamp, 'timestamp');
    assert.ok(m.lastEventId.length > 0, 'it carries an SSE id (it is a stored event)');
    // System events never reach agui, nor another user.
    const marker = await publishOk(hub, 'agui', { user_id: user, type: 'CUSTOM', name: 'marker', value: 1 });
    await agui.until((x) => x.messages.some((e) => e.lastEventId === marker), 5_000, 'marker');
    assert.equal(agui.messages.length, 1, 'the agui stream got no system event');
    assert.equal(other.messages.length, 1, "another user's contexts stream got only its snapshot");
  });

  it('the CONTEXTS_SNAPSHOT comes first and its entries have the snake_case shape {context_id,name,created_at,updated_at,message_count,task_count} with the statistics of §3.4', async () => {
    const user = uniqueId('snap');
    const token = hub.token(user);
    const res = await api(hub, 'POST', '/api/v1/core/contexts', token, { name: 'Stats' });
    assert.equal(res.status, 201, res.where);
    const contextId = res.body.data.context_id;
    // Attributed events: 2 messages (TEXT_MESSAGE_END, AGENT_MESSAGE), 1 distinct task.
    await publishOk(hub, 'agui', { user_id: user, context_id: contextId, type: 'TEXT_MESSAGE_END', messageId: 'm1' });
    await publishOk(hub, 'a2a', { user_id: user, type: 'TASK_SUBMITTED', taskId: 'task-1', contextId, agentName: 'a' });
    await publishOk(hub, 'a2a', { user_id: user, type: 'AGENT_MESSAGE', taskId: 'task-1', contextId, messageId: 'am1', content: 'hi' });
    const lastId = await publishOk(hub, 'a2a', { user_id: user, type: 'TASK_STATUS_UPDATE', taskId: 'task-1', contextId, state: 'TASK_STATE_COMPLETED' });

    const c = open(user);
    await c.until((x) => x.messages.length >= 1, 5_000, 'the snapshot');
    const first = c.messages[0];
    assert.equal(first.json?.protocol, 'system');
    assert.equal(first.json.event.type, 'CONTEXTS_SNAPSHOT', 'the snapshot is the first frame');
    // §4: the snapshot reflects exactly the events up to its own id, so its id is at least the
    // last published one's (system events the hub stored since may be later still).
    assert.ok(first.lastEventId.length > 0, 'the snapshot carries an id');
    assert.equal(parseEventId(first.lastEventId).history, parseEventId(lastId).history);
    assert.ok(parseEventId(first.lastEventId).seq >= parseEventId(lastId).seq, 'the snapshot reflects every event published before it');
    const entries = first.json.event.contexts;
    assert.ok(Array.isArray(entries));
    const entry = entries.find((e) => e.context_id === contextId);
    assert.ok(entry, `the snapshot lists the context: ${first.data}`);
    for (const k of SNAPSHOT_ENTRY_KEYS) assert.ok(k in entry, `entry.${k} present: ${JSON.stringify(entry)}`);
    for (const k of ['contextId', 'createdAt', 'updatedAt', 'messageCount', 'taskCount']) assert.ok(!(k in entry), `no camelCase ${k}`);
    assert.equal(entry.name, 'Stats');
    assertTime(entry.created_at, 'created_at');
    assertTime(entry.updated_at, 'updated_at');
    assert.equal(entry.message_count, 2, 'message_count = AGENT_MESSAGE + TEXT_MESSAGE_END');
    assert.equal(entry.task_count, 1, 'task_count = distinct task ids');
  });

  it('an event attributed to an unknown context (threadId of RUN_STARTED) creates it for the publisher: CONTEXT_CREATED, then it is in the next snapshot', async () => {
    const user = uniqueId('attr');
    const thread = uniqueId('thread');
    const c = open(user);
    await c.until((x) => x.messages.length >= 1, 5_000, 'the snapshot');
    await publishOk(hub, 'agui', { user_id: user, type: 'RUN_STARTED', threadId: thread, runId: 'r1' });
    await c.until((x) => systemEvents(x, 'CONTEXT_CREATED').some((m) => m.json.event.contextId === thread), 5_000, 'CONTEXT_CREATED for the thread');
    const c2 = open(user);
    await c2.until((x) => x.messages.length >= 1, 5_000, 'a new snapshot');
    assert.ok(c2.messages[0].json.event.contexts.some((e) => e.context_id === thread), 'the new snapshot lists the thread context');
  });

  it('name rules and ownership: blank name → 400, absent → "Conversation <unix-ms>", another user\'s context → 404, malformed id → 400', async () => {
    const user = uniqueId('rules');
    const token = hub.token(user);
    const blank = await api(hub, 'POST', '/api/v1/core/contexts', token, { name: '   ' });
    assert.equal(blank.status, 400, blank.where);
    assert.equal(blank.body?.code, 'bad_request', blank.where);
    const before = Date.now();
    const unnamed = await api(hub, 'POST', '/api/v1/core/contexts', token, {});
    assert.equal(unnamed.status, 201, unnamed.where);
    const m = /^Conversation (\d+)$/.exec(unnamed.body.data.name);
    assert.ok(m, `default name: ${unnamed.body.data.name}`);
    assert.ok(Math.abs(Number(m[1]) - before) < 60_000, 'the default name carries the creation time in unix ms');
    const mine = unnamed.body.data.context_id;
    const stranger = await api(hub, 'GET', `/api/v1/core/contexts/${encodeURIComponent(mine)}`, hub.token(uniqueId('stranger')));
    assert.equal(stranger.status, 404, stranger.where);
    assert.ok(!stranger.text.includes(user), 'the error does not reveal the owner');
    const own = await api(hub, 'GET', `/api/v1/core/contexts/${encodeURIComponent(mine)}`, token);
    assert.equal(own.status, 200, own.where);
    assert.equal(own.body.data.context_id, mine);
    const bad = await api(hub, 'GET', `/api/v1/core/contexts/${'x'.repeat(300)}`, token);
    assert.equal(bad.status, 400, bad.where);
  });

  it('rename and delete: PUT emits CONTEXT_UPDATED {contextId,name}, DELETE answers 204 and emits CONTEXT_DELETED {contextId}; the list is newest first', async () => {
    const user = uniqueId('crud');
    const token = hub.token(user);
    const c = open(user);
    await c.until((x) => x.messages.length >= 1, 5_000, 'the snapshot');
    const a = await api(hub, 'POST', '/api/v1/core/contexts', token, { name: 'A' });
    const b = await api(hub, 'POST', '/api/v1/core/contexts', token, { name: 'B' });
    assert.equal(a.status, 201, a.where);
    assert.equal(b.status, 201, b.where);
    const idA = a.body.data.context_id;
    const idB = b.body.data.context_id;
    const put = await api(hub, 'PUT', `/api/v1/core/contexts/${encodeURIComponent(idA)}`, token, { name: 'A renamed' });
    assert.equal(put.status, 200, put.where);
    assert.equal(put.body.data.name, 'A renamed');
    await c.until((x) => systemEvents(x, 'CONTEXT_UPDATED').length >= 1, 5_000, 'CONTEXT_UPDATED');
    const upd = systemEvents(c, 'CONTEXT_UPDATED')[0].json.event;
    assert.equal(upd.contextId, idA);
    assert.equal(upd.name, 'A renamed');
    const list = await api(hub, 'GET', '/api/v1/core/contexts', token);
    assert.equal(list.status, 200, list.where);
    assert.deepEqual(list.body.data.map((x) => x.context_id).sort(), [idA, idB].sort(), 'the list holds both contexts');
    const time = (v) => (typeof v === 'string' ? Date.parse(v) : v);
    const [tA, tB] = [idA, idB].map((id) => time(list.body.data.find((x) => x.context_id === id).updated_at));
    assert.ok(tA >= tB, 'renaming A moved its updated_at past B\'s');
    // Newest updated_at first (when the two times are equal at the hub's resolution, either order).
    if (tA > tB) assert.deepEqual(list.body.data.map((x) => x.context_id), [idA, idB], 'newest updated_at first');
    for (const x of list.body.data) {
      for (const k of ['task_count', 'message_count', 'last_message_at']) assert.ok(k in x, `list entry has ${k}`);
      assert.equal(x.last_message_at, null, 'last_message_at is null without messages');
    }
    const del = await api(hub, 'DELETE', `/api/v1/core/contexts/${encodeURIComponent(idB)}`, token);
    assert.equal(del.status, 204, del.where);
    await c.until((x) => systemEvents(x, 'CONTEXT_DELETED').length >= 1, 5_000, 'CONTEXT_DELETED');
    assert.equal(systemEvents(c, 'CONTEXT_DELETED')[0].json.event.contextId, idB);
    const gone = await api(hub, 'GET', `/api/v1/core/contexts/${encodeURIComponent(idB)}`, token);
    assert.equal(gone.status, 404, gone.where);
  });
});

describe('contexts in Chromium (native EventSource)', () => {
  let hub;
  let browser;
  let context;
  before(async () => {
    hub = await startHub({ heartbeat: 30 });
    browser = await launchChromium();
  });
  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    await hub?.stop();
  });

  it('a native EventSource on /api/v1/stream/contexts receives the snapshot (listing an existing context) first, then CONTEXT_CREATED for a new one', async () => {
    const user = uniqueId('browserctx');
    const token = hub.token(user);
    const existing = await api(hub, 'POST', '/api/v1/core/contexts', token, { name: 'Existing' });
    assert.equal(existing.status, 201, existing.where);
    const opened = await pageWithToken(browser, hub, token);
    context = opened.context;
    const { page } = opened;
    await page.goto(`${hub.url}/`, { waitUntil: 'load', timeout: 15_000 });
    await openNativeEventSource(page, 'ctx', '/api/v1/stream/contexts?client=conformance');
    await waitInPage(page, 'ctx', () => window.__es.ctx.messages.length >= 1, undefined, 10_000, 'the snapshot');
    const created = await api(hub, 'POST', '/api/v1/core/contexts', token, { name: 'Fresh' });
    assert.equal(created.status, 201, created.where);
    await waitInPage(page, 'ctx', () => window.__es.ctx.messages.some((m) => JSON.parse(m.data).event?.type === 'CONTEXT_CREATED'),
      undefined, 10_000, 'CONTEXT_CREATED');
    const rec = await readRecorder(page, 'ctx');
    const frames = rec.messages.map((m) => JSON.parse(m.data));
    assert.equal(frames[0].protocol, 'system');
    assert.equal(frames[0].event.type, 'CONTEXTS_SNAPSHOT', 'the snapshot is the first message');
    const entry = frames[0].event.contexts.find((e) => e.context_id === existing.body.data.context_id);
    assert.ok(entry, 'the snapshot lists the existing context');
    for (const k of SNAPSHOT_ENTRY_KEYS) assert.ok(k in entry, `entry.${k}`);
    const ev = frames.find((f) => f.event?.type === 'CONTEXT_CREATED').event;
    assert.equal(ev.contextId, created.body.data.context_id);
    assert.equal(ev.name, 'Fresh');
    // The dashboard's contexts table shows both.
    await page.locator('#contexts-body tr').filter({ hasText: 'Fresh' }).waitFor({ timeout: 10_000 });
    await page.locator('#contexts-body tr').filter({ hasText: 'Existing' }).waitFor({ timeout: 10_000 });
  });
});
