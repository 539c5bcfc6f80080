// Herald's own JS client (clients/js, its built ESM module as a browser loads it) in Debian's
// Chromium against a real hub: cookie auth on the hub's own origin, bearer auth and cookie auth
// from another origin (the hub started with --cors-origin for it); events with their ids, the
// reconnect with Last-Event-ID after the hub ends the streams (no loss, no duplicate), and
// publishing from the page. Every wait is a condition with a deadline.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startHub, publishOk, uniqueId } from './lib/hub.mjs';
import { launchChromium, pageWithToken } from './lib/browser.mjs';
import { CLIENT_MODULE } from './lib/js-client.mjs';

const DIST = path.dirname(fileURLToPath(CLIENT_MODULE));
const PAGE = '<!doctype html><meta charset="utf-8"><title>herald client</title>'
  + '<script type="module">import * as herald from "./dist/index.js"; window.herald = herald; document.title = "ready";</script>';
const textEvent = (user, tag) => ({ user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: `${user}-m`, delta: `browser ${tag}` });

/** The page and the built module: `/js-client/index.html` and `/js-client/dist/*.js`. */
function asset(pathname) {
  if (pathname === '/js-client/index.html') return { type: 'text/html; charset=utf-8', body: PAGE };
  const m = /^\/js-client\/dist\/([\w.-]+\.js)$/.exec(pathname);
  if (!m || !existsSync(path.join(DIST, m[1]))) return undefined;
  return { type: 'text/javascript; charset=utf-8', body: readFileSync(path.join(DIST, m[1])) };
}

/** A loopback server of the page and module: an origin other than the hub's. */
async function startPageServer() {
  const server = createServer((req, res) => {
    const found = asset(new URL(req.url, 'http://x').pathname);
    res.writeHead(found ? 200 : 404, { 'Content-Type': found?.type ?? 'text/plain' });
    res.end(found?.body ?? 'not found');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Loads the page and waits for the module; `herald` is then the client's exports in the page. */
async function loadClient(page, url) {
  const res = await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
  assert.equal(res.status(), 200);
  await page.waitForFunction(() => document.title === 'ready' && typeof window.herald?.HeraldClient === 'function', undefined, { timeout: 10_000 });
}

/**
 * Subscribes in the page: `new HeraldClient(options)` (`token: true` → a token function reading
 * window.__token) and `subscribe(stream)`, recording into window.__recs[name].
 */
function subscribeInPage(page, name, stream, options) {
  return page.evaluate(({ name, stream, options }) => {
    const { HeraldClient } = window.herald;
    const { token, ...rest } = options;
    const client = new HeraldClient(token ? { ...rest, token: () => window.__token } : rest);
    const rec = { events: [], opens: [], errors: [], resets: [] };
    rec.client = client;
    rec.sub = client.subscribe(stream, {
      onEvent: (event, info) => rec.events.push({ id: info.id, type: event.type ?? event.event?.type, event }),
      onOpen: (info) => rec.opens.push(info),
      onError: (error, info) => rec.errors.push({ code: error.code, status: error.status, message: error.message, ...info }),
      onReset: (info) => rec.resets.push(info),
      reconnect: { initialDelayMs: 200, maxDelayMs: 1500 },
    });
    window.__recs = window.__recs || {};
    window.__recs[name] = rec;
  }, { name, stream, options });
}

function readRec(page, name) {
  return page.evaluate((n) => {
    const r = window.__recs[n];
    return { events: r.events, opens: r.opens, errors: r.errors, resets: r.resets, state: r.sub.state, lastEventId: r.sub.lastEventId };
  }, name);
}

async function waitRec(page, name, fn, arg, timeoutMs, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 50 });
  } catch (err) {
    const state = await readRec(page, name).catch(() => null);
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${err.message.split('\n')[0]}); recorder: ${JSON.stringify(state)?.slice(0, 2000)}`);
  }
}

function assertExactlyOnceInOrder(got, expected, what) {
  assert.deepEqual(got.filter((id, i) => got.indexOf(id) !== i), [], `${what}: no duplicate`);
  assert.deepEqual(expected.filter((id) => !got.includes(id)), [], `${what}: no gap`);
  assert.deepEqual(got, expected, `${what}: every event exactly once, in order`);
}

/** The page's GET requests of a stream, with the headers the browser sent. */
async function streamRequests(requests, url) {
  const mine = requests.filter((r) => r.method() === 'GET' && r.url() === url);
  return Promise.all(mine.map(async (r) => ({ headers: await r.allHeaders() })));
}

/**
 * Publishes 5 events, waits for them in the page, ends the user's streams (admin disconnect),
 * publishes 10 while the client is away and one after its reconnect, and checks every id once,
 * in order, and that the reconnect request carried the last id received. Returns the requests.
 */
async function receiveAndResume(page, hub, user, name, streamUrl, requests) {
  await waitRec(page, name, (n) => window.__recs[n].opens.length === 1, name, 10_000, 'open');
  const expected = [];
  for (let i = 0; i < 5; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `before-${i}`)));
  await waitRec(page, name, ([n, k]) => window.__recs[n].events.length >= k, [name, 5], 10_000, 'the first events');
  await hub.disconnectUser(user);
  await waitRec(page, name, (n) => window.__recs[n].errors.length >= 1, name, 10_000, 'the end of the stream');
  for (let i = 0; i < 10; i++) expected.push(await publishOk(hub, 'agui', textEvent(user, `away-${i}`)));
  await waitRec(page, name, (n) => window.__recs[n].opens.length >= 2, name, 15_000, 'the reconnect');
  expected.push(await publishOk(hub, 'agui', textEvent(user, 'after')));
  await waitRec(page, name, ([n, last]) => window.__recs[n].events.some((e) => e.id === last), [name, expected.at(-1)], 10_000, 'the last event');
  const rec = await readRec(page, name);
  assertExactlyOnceInOrder(rec.events.map((e) => e.id), expected, name);
  assert.ok(rec.events.every((e) => e.type === 'TEXT_MESSAGE_CONTENT'), 'bare AG-UI events');
  assert.equal(rec.errors[0].willRetry, true);
  assert.equal(rec.resets.length, 0);
  assert.deepEqual(rec.opens.map((o) => o.lastEventId), [undefined, expected[4]], 'the reconnect resumed after the last event received');
  const reqs = await streamRequests(requests, streamUrl);
  assert.equal(reqs.length, 2, 'one request, one reconnect');
  assert.equal(reqs[0].headers['last-event-id'], undefined, 'the first request has no Last-Event-ID');
  assert.equal(reqs[1].headers['last-event-id'], expected[4], 'the browser sent Last-Event-ID = the last id received');
  return reqs;
}

describe('JS client in Chromium (the built ESM module in a page)', () => {
  let hub;
  let browser;
  let pages;
  const contexts = [];
  before(async () => {
    pages = await startPageServer();
    hub = await startHub({ heartbeat: 5, extraArgs: ['--cors-origin', pages.origin] });
    browser = await launchChromium();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await hub?.stop();
    await pages?.close();
  });

  it('cookie auth on the hub\'s own origin: the access_token cookie alone opens the stream, events arrive with their ids, and after an admin disconnect the client reconnects with Last-Event-ID and the cookie: no loss, no duplicate', async () => {
    const user = uniqueId('jsb-cookie');
    const { context, page, problems, requests } = await pageWithToken(browser, hub, hub.token(user));
    contexts.push(context);
    // The page and module are served under the hub's origin by the browser context's router.
    await context.route(`${hub.url}/js-client/**`, (route) => {
      const found = asset(new URL(route.request().url()).pathname);
      return found ? route.fulfill({ status: 200, contentType: found.type, body: found.body }) : route.fallback();
    });
    await loadClient(page, `${hub.url}/js-client/index.html`);
    await subscribeInPage(page, 'agui', 'agui', {});
    const reqs = await receiveAndResume(page, hub, user, 'agui', `${hub.url}/api/v1/stream/agui`, requests);
    for (const r of reqs) {
      assert.match(r.headers.cookie ?? '', /access_token=/, 'the cookie carries the token');
      assert.equal(r.headers.authorization, undefined, 'no Authorization header');
    }
    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), [], 'no script error in the page');
  });

  it('bearer auth from another origin (the hub allows it with --cors-origin): a token function, no cookie; events arrive, the client resumes after an admin disconnect with Last-Event-ID, and publishes from the page with its generated Idempotency-Key', async () => {
    const user = uniqueId('jsb-bearer');
    const context = await browser.newContext(); // no cookie at all
    contexts.push(context);
    const page = await context.newPage();
    const requests = [];
    const errors = [];
    page.on('request', (r) => requests.push(r));
    page.on('pageerror', (e) => errors.push(e.message));
    await loadClient(page, `${pages.origin}/js-client/index.html`);
    const token = hub.token(user);
    await page.evaluate((t) => { window.__token = t; }, token);
    await subscribeInPage(page, 'agui', 'agui', { baseUrl: hub.url, token: true });
    const reqs = await receiveAndResume(page, hub, user, 'agui', `${hub.url}/api/v1/stream/agui`, requests);
    for (const r of reqs) {
      assert.equal(r.headers.authorization, `Bearer ${token}`, 'the bearer token on every stream request');
      assert.equal(r.headers.cookie, undefined, 'no cookie');
      assert.equal(r.headers.origin, pages.origin, 'a cross-origin request');
    }

    // Publishing from the page: a CORS request with Authorization and Idempotency-Key.
    const answer = await page.evaluate(async (u) => {
      const r = await window.__recs.agui.client.publish('agui', u, { type: 'TEXT_MESSAGE_CONTENT', messageId: `${u}-m`, delta: 'from the page' });
      return r;
    }, user);
    assert.equal(answer.status, 'broadcasted');
    await waitRec(page, 'agui', (id) => window.__recs.agui.events.some((e) => e.id === id), answer.event_id, 10_000, 'the event the page published');
    const post = requests.find((r) => r.method() === 'POST' && r.url() === `${hub.url}/api/v1/webhook/agui`);
    const headers = await post.allHeaders();
    assert.match(headers['idempotency-key'] ?? '', /^[0-9a-f]{32}$/, 'a generated Idempotency-Key');
    const rec = await readRec(page, 'agui');
    assert.equal(rec.events.at(-1).event.delta, 'from the page');
    assert.deepEqual(errors, [], 'no script error in the page');
  });

  it('cookie auth from another origin (credentials: include, the hub allows the origin with credentials): the contexts stream opens on the cookie, starts with its snapshot and receives events', async () => {
    const user = uniqueId('jsb-xcookie');
    const { context, page, requests } = await pageWithToken(browser, hub, hub.token(user));
    contexts.push(context);
    await loadClient(page, `${pages.origin}/js-client/index.html`);
    await subscribeInPage(page, 'contexts', 'contexts', { baseUrl: hub.url });
    await waitRec(page, 'contexts', () => window.__recs.contexts.events.length >= 1, undefined, 10_000, 'the snapshot');
    const id = await publishOk(hub, 'agui', textEvent(user, 'x'));
    await waitRec(page, 'contexts', (last) => window.__recs.contexts.events.some((e) => e.id === last), id, 10_000, 'the event');
    const rec = await readRec(page, 'contexts');
    assert.deepEqual(rec.events.map((e) => e.type), ['CONTEXTS_SNAPSHOT', 'TEXT_MESSAGE_CONTENT']);
    assert.equal(rec.events[1].event.protocol, 'agui');
    const reqs = await streamRequests(requests, `${hub.url}/api/v1/stream/contexts`);
    assert.equal(reqs.length, 1);
    assert.match(reqs[0].headers.cookie ?? '', /access_token=/, 'the browser sent the cookie across origins');
    assert.equal(reqs[0].headers.authorization, undefined);
    assert.equal(rec.errors.length, 0);
  });
});
