// A real browser: Debian's Chromium (driven by playwright-core) loads the dashboard with the
// access_token cookie, and its native EventSource (cookie auth, same origin) receives events and
// resumes after the hub ends the stream, by itself.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, publishOk, uniqueId } from './lib/hub.mjs';
import { launchChromium, pageWithToken, openNativeEventSource, readRecorder, waitInPage } from './lib/browser.mjs';

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
