// A real browser: Debian's Chromium (driven by playwright-core) loads the dashboard with the
// access_token cookie, and its native EventSource (cookie auth, same origin) receives events and
// resumes after the hub ends the stream, by itself; a 401 or a 429 ends it for good (no retry).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startHub, publishOk, uniqueId, waitFor } from './lib/hub.mjs';
import { RecordingEventSource } from './lib/es-client.mjs';
import {
  launchChromium, pageWithToken, openNativeEventSource, readRecorder, waitInPage, startEndingStreamServer,
} from './lib/browser.mjs';

/** An HS256 JWT with exactly these claims (`herald token` refuses a lifetime in the past). */
function signHs256(secret, claims) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

const textEvent = (user, i) => ({ user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: `${user}-m`, delta: `browser ${i}` });

describe('Chromium (playwright-core) against the hub', () => {
  let hub;
  let browser;
  const contexts = [];
  before(async () => {
    hub = await startHub({ heartbeat: 5 });
    browser = await launchChromium();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await hub?.stop();
  });

  it('the dashboard page loads and works without console errors or page errors', async () => {
    // A browser of its own: Chromium fetches /favicon.ico once per browser, so an earlier test's
    // page would hide a console error this one must see.
    const fresh = await launchChromium();
    try {
      const user = uniqueId('console');
      const { page, problems } = await pageWithToken(fresh, hub, hub.token(user));
      await page.goto(`${hub.url}/`, { waitUntil: 'load', timeout: 15_000 });
      await page.locator('#pane-agui .conn[data-state="open"]').waitFor({ timeout: 10_000 });
      const id = await publishOk(hub, 'agui', textEvent(user, 'console'));
      await page.locator(`#pane-agui .sid[title="SSE id ${id}"]`).waitFor({ timeout: 10_000 });
      assert.deepEqual(problems, [], 'no console errors or page errors');
    } finally {
      await fresh.close();
    }
  });

  it('the dashboard, signed in from the access_token cookie, opens its three streams and shows published events in its panes', async () => {
    const user = uniqueId('dash');
    const { context, page } = await pageWithToken(browser, hub, hub.token(user));
    contexts.push(context);
    const res = await page.goto(`${hub.url}/`, { waitUntil: 'load', timeout: 15_000 });
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/html/);
    for (const s of ['agui', 'a2a', 'contexts']) {
      await page.locator(`#pane-${s} .conn[data-state="open"]`).waitFor({ timeout: 10_000 });
    }
    assert.equal(await page.locator('#who-sub').textContent(), user, 'signed in from the cookie as the token subject');

    const id = await publishOk(hub, 'agui', textEvent(user, 'shown'));
    const a2aId = await publishOk(hub, 'a2a', { user_id: user, type: 'TASK_SUBMITTED', taskId: `${user}-t`, contextId: `${user}-c`, agentName: 'demo' });
    // The event's row carries its SSE id (title) and its type badge, in the agui and contexts panes.
    for (const [pane, eventId, type] of [['agui', id, 'TEXT_MESSAGE_CONTENT'], ['contexts', id, 'TEXT_MESSAGE_CONTENT'], ['a2a', a2aId, 'TASK_SUBMITTED']]) {
      const row = page.locator(`#pane-${pane} .rows li`).filter({ has: page.locator(`.sid[title="SSE id ${eventId}"]`) });
      await row.waitFor({ timeout: 10_000 });
      assert.match(await row.textContent(), new RegExp(type), `${pane}: the row shows the event type`);
    }
    assert.equal(await page.locator('#pane-agui .rows li').count(), 1, 'exactly the one AG-UI event in the agui pane');
  });

  it("the browser's native EventSource (cookie auth) receives events with their ids and, after an admin disconnect, reconnects by itself with Last-Event-ID: no loss, no duplicate", async () => {
    const user = uniqueId('native');
    const { context, page, problems, requests } = await pageWithToken(browser, hub, hub.token(user));
    contexts.push(context);
    await page.goto(`${hub.url}/`, { waitUntil: 'load', timeout: 15_000 });
    for (const s of ['agui', 'a2a', 'contexts']) {
      await page.locator(`#pane-${s} .conn[data-state="open"]`).waitFor({ timeout: 10_000 });
    }

    const path = '/api/v1/stream/agui?client=conformance';
    await openNativeEventSource(page, 'agui', path);
    await waitInPage(page, 'agui', () => window.__es.agui.opens === 1, undefined, 10_000, 'open');

    const expected = [];
    for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `before-${i}`)));
    await waitInPage(page, 'agui', (n) => window.__es.agui.messages.length >= n, expected.length, 10_000, 'the first events');

    const answer = await hub.disconnectUser(user);
    assert.ok(answer?.data?.disconnected >= 4, `the admin disconnect ended the page's streams: ${JSON.stringify(answer)}`);
    await waitInPage(page, 'agui', () => window.__es.agui.errors.length >= 1, undefined, 10_000, 'the end of the stream');
    let rec = await readRecorder(page, 'agui');
    assert.equal(rec.errors[0], 0, 'the browser is reconnecting (readyState CONNECTING), not giving up');
    assert.equal(rec.opens, 1, 'still away');
    for (let i = 0; i < 25; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `away-${i}`)));

    await waitInPage(page, 'agui', () => window.__es.agui.opens >= 2, undefined, 15_000, 'the automatic reconnect');
    expected.push(await publishOk(hub, 'agui', textEvent(user, 'after')));
    await waitInPage(page, 'agui', (last) => window.__es.agui.messages.some((m) => m.id === last), expected.at(-1), 10_000, 'the last event');
    rec = await readRecorder(page, 'agui');
    const ids = rec.messages.map((m) => m.id);
    assert.deepEqual(ids.filter((x, i) => ids.indexOf(x) !== i), [], 'no duplicate');
    assert.deepEqual(expected.filter((x) => !ids.includes(x)), [], 'no loss');
    assert.deepEqual(ids, expected, 'every event exactly once, in order');
    for (const [i, m] of rec.messages.entries()) {
      assert.equal(m.type, 'message');
      assert.equal(JSON.parse(m.data).type, 'TEXT_MESSAGE_CONTENT', `message ${i} is the bare AG-UI event`);
    }

    // The reconnect request was the browser's own, carrying the last id it had seen.
    const mine = requests.filter((r) => r.url().endsWith(path));
    assert.equal(mine.length, 2, 'one request, one reconnect');
    const first = await mine[0].allHeaders();
    const second = await mine[1].allHeaders();
    assert.equal(first['last-event-id'], undefined, 'the first request has no Last-Event-ID');
    assert.equal(second['last-event-id'], expected[4], 'the reconnect sends Last-Event-ID = the last id received');
    assert.match(second.cookie ?? '', /access_token=/, 'authenticated by the cookie');

    // The dashboard's own agui pane (another native EventSource) also has every event once.
    await page.locator('#pane-agui .count').filter({ hasText: `${expected.length} events` }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#pane-agui .rows li:not(.notice)').count(), expected.length, 'the dashboard pane shows each event once');
    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), [], 'no script errors in the page');
  });
});

describe('Chromium: a non-200 answer ends the native EventSource for good', () => {
  // Per the WHATWG spec a response other than 200 text/event-stream "fails the connection":
  // readyState CLOSED, no reconnect. The hub's 401 and 429 must therefore end a browser's
  // EventSource; the app reopens it (after refreshing the token, or after Retry-After).
  let hub;
  let browser;
  let ending;
  const contexts = [];
  const clients = [];
  before(async () => {
    hub = await startHub({ heartbeat: 5, extraArgs: ['--max-connections-per-user', '2'] });
    browser = await launchChromium();
    ending = await startEndingStreamServer();
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await ending?.close();
    await hub?.stop();
  });

  /**
   * After the EventSource `name` on `path` reached CLOSED: opens a control EventSource on a
   * stream that ends at once, and waits for its automatic reconnect. The control's stream ended
   * after the failure, so by its reconnect the browser's default reconnection time has passed
   * since the failure: a retry of `path`, had the browser scheduled one, would have been sent
   * (checked once by hand: a stream that failed in a retriable way just before the control was
   * always seen retried, in the page's request events, by the control's reconnect). Proving that
   * something does not happen takes one reconnection time (3 s in Chromium): that wait is the
   * thing under test, and it is a condition with a deadline, not a sleep. Then exactly one
   * request for `path` must have been made.
   */
  async function assertNoRetry(page, requests, name, path, label) {
    const controlPath = `/control-${label}`;
    await openNativeEventSource(page, `control-${label}`, `${ending.url}${controlPath}`);
    // Both sides: the page's request event can come before the server has counted the request.
    await waitFor(() => requests.filter((r) => r.url() === `${ending.url}${controlPath}`).length >= 2
      && ending.count(controlPath) >= 2,
      { timeoutMs: 15_000, intervalMs: 50, what: `the control EventSource's automatic reconnect (${label})` });
    assert.equal(ending.count(controlPath), 2, 'the control reconnected once, by itself');
    const mine = requests.filter((r) => r.url() === `${hub.url}${path}`);
    assert.equal(mine.length, 1, `${label}: exactly one request for the stream, no retry`);
    const rec = await readRecorder(page, name);
    assert.equal(rec.readyState, 2, `${label}: still CLOSED`);
    assert.deepEqual(rec.errors, [2], `${label}: one error event, fired with readyState CLOSED`);
    assert.equal(rec.opens, 0, `${label}: never opened`);
    return mine[0];
  }

  it('401: an EventSource whose access_token cookie holds an expired token gets one 401 (WWW-Authenticate: Bearer), fires error with readyState CLOSED and never retries', async () => {
    const user = uniqueId('expired');
    const now = Math.floor(Date.now() / 1000);
    // The same signature with a live exp is accepted: the 401 below is about the expiry alone.
    const live = signHs256(hub.secret, { sub: user, iat: now, exp: now + 600 });
    const check = await hub.fetch('/api/v1/core/contexts', { headers: { Cookie: `access_token=${live}` } });
    await check.arrayBuffer();
    assert.equal(check.status, 200, 'a token signed the same way but not expired is accepted');
    const expired = signHs256(hub.secret, { sub: user, iat: now - 7200, exp: now - 3600 });

    const { context, page, requests } = await pageWithToken(browser, hub, expired);
    contexts.push(context);
    // A same-origin page that opens no stream of its own (the dashboard would).
    await page.goto(`${hub.url}/health`, { waitUntil: 'load', timeout: 15_000 });
    const path = '/api/v1/stream/agui?client=conformance-401';
    await openNativeEventSource(page, 'denied', path);
    await waitInPage(page, 'denied', () => window.__es.denied.es.readyState === 2 && window.__es.denied.errors.length >= 1,
      undefined, 10_000, 'readyState CLOSED after the 401');

    const request = await assertNoRetry(page, requests, 'denied', path, '401');
    assert.match((await request.allHeaders()).cookie ?? '', /access_token=/, 'the browser sent the cookie');
    const response = await request.response();
    assert.equal(response?.status(), 401, 'the hub answered 401');
    assert.match(response.headers()['www-authenticate'] ?? '', /^Bearer/, '401 carries WWW-Authenticate: Bearer');
  });

  it('429: with the per-user cap (2) filled from Node, a native EventSource for the same user and stream gets one 429 (Retry-After: 5), fires error with readyState CLOSED and never retries; reopened by the app once a slot is free, it opens', async () => {
    const user = uniqueId('capped');
    const token = hub.token(user);
    const rejected = async () => {
      const text = await (await hub.fetchMetrics()).text();
      return Number(/^herald_connections_rejected_total\{stream="agui"\} (\d+)$/m.exec(text)?.[1]);
    };
    const open = async () => {
      const text = await (await hub.fetchMetrics()).text();
      return Number(/^herald_connections\{stream="agui"\} (-?\d+)$/m.exec(text)?.[1]);
    };
    // Chromium allows 6 HTTP/1.1 connections per host: the cap is filled from Node, not the page.
    const holders = [0, 1].map(() => new RecordingEventSource(`${hub.url}/api/v1/stream/agui`, { token }));
    clients.push(...holders);
    await Promise.all(holders.map((c) => c.until((x) => x.opens.length === 1, 5_000, 'a slot holder open')));
    const rejectedBefore = await rejected();

    const { context, page, requests } = await pageWithToken(browser, hub, token);
    contexts.push(context);
    await page.goto(`${hub.url}/health`, { waitUntil: 'load', timeout: 15_000 });
    const path = '/api/v1/stream/agui?client=conformance-429';
    await openNativeEventSource(page, 'capped', path);
    await waitInPage(page, 'capped', () => window.__es.capped.es.readyState === 2 && window.__es.capped.errors.length >= 1,
      undefined, 10_000, 'readyState CLOSED after the 429');

    const request = await assertNoRetry(page, requests, 'capped', path, '429');
    const response = await request.response();
    assert.equal(response?.status(), 429, 'the hub answered 429');
    assert.equal(response.headers()['retry-after'], '5', '429 carries Retry-After: 5');
    assert.equal(await rejected(), rejectedBefore + 1, 'the hub refused exactly one stream open by the cap');

    // What an app does (docs/DECISIONS.md): reopen the EventSource itself once a slot is free.
    holders[0].close();
    await waitFor(async () => (await open()) === 1, { timeoutMs: 5_000, what: 'the closed holder to free its slot' });
    await openNativeEventSource(page, 'reopened', '/api/v1/stream/agui?client=conformance-429-reopened');
    await waitInPage(page, 'reopened', () => window.__es.reopened.opens === 1, undefined, 10_000, 'the reopened EventSource to open');
    const id = await publishOk(hub, 'agui', textEvent(user, 'after-429'));
    await waitInPage(page, 'reopened', (last) => window.__es.reopened.messages.some((m) => m.id === last), id, 10_000, 'an event on the reopened EventSource');
  });
});
