// Debian's Chromium driven by playwright-core (no browser download): launch, a page on the hub's
// origin with the `access_token` cookie, a native EventSource recorder inside the page, and a
// loopback stream that ends at once (its reconnect shows the browser's reconnection time passed).
import { chromium } from 'playwright-core';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';

export const CHROMIUM = process.env.CHROMIUM_BIN
  ?? ['/usr/bin/chromium', '/usr/lib/chromium/chromium'].find((p) => existsSync(p));

export async function launchChromium() {
  if (!CHROMIUM) throw new Error('Debian chromium not found (bash scripts/install-deps.sh --conformance)');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: no sandbox; no GPU; keep /dev/shm use small. Quiet: no background
    // networking, component updates, sync, default apps or first-run work, so the only requests
    // the browser makes are the pages' own (tests count them).
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--no-first-run', '--no-default-browser-check',
      '--disable-domain-reliability', '--metrics-recording-only',
    ],
    timeout: 30_000,
  });
}

/**
 * A new browser context whose cookie jar holds `access_token` for the hub's origin, and a page
 * that records console errors and page errors.
 */
export async function pageWithToken(browser, hub, token) {
  const context = await browser.newContext();
  await context.addCookies([{ name: 'access_token', value: token, url: hub.url, sameSite: 'Strict' }]);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console.error: ${msg.text()} (${msg.location()?.url ?? ''})`); });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  const requests = [];
  page.on('request', (req) => { requests.push(req); });
  return { context, page, problems, requests };
}

/**
 * Opens a native EventSource inside the page (same origin, so the browser sends the cookie) and
 * records into window.__es[name]: opens, errors (with readyState) and messages.
 */
export async function openNativeEventSource(page, name, path) {
  await page.evaluate(({ name, path }) => {
    window.__es = window.__es || {};
    const rec = { opens: 0, errors: [], messages: [], named: [] };
    const es = new EventSource(path);
    rec.es = es;
    es.onopen = () => { rec.opens += 1; };
    es.onerror = () => { rec.errors.push(es.readyState); };
    es.onmessage = (ev) => { rec.messages.push({ id: ev.lastEventId, data: ev.data, type: ev.type }); };
    for (const type of ['heartbeat', 'reset']) {
      es.addEventListener(type, (ev) => rec.named.push({ type, id: ev.lastEventId, data: ev.data }));
    }
    window.__es[name] = rec;
  }, { name, path });
}

/** A serialisable copy of the recorder `name` in the page. */
export function readRecorder(page, name) {
  return page.evaluate((n) => {
    const r = window.__es[n];
    return { opens: r.opens, errors: [...r.errors], messages: [...r.messages], named: [...r.named], readyState: r.es.readyState };
  }, name);
}

/**
 * Waits (bounded) until `pageFn(arg)` is truthy in the page (polled by playwright every 50 ms);
 * on timeout the error shows the recorder `name`.
 */
export async function waitInPage(page, name, pageFn, arg, timeoutMs, what) {
  try {
    await page.waitForFunction(pageFn, arg, { timeout: timeoutMs, polling: 50 });
  } catch (err) {
    const state = await readRecorder(page, name).catch(() => null);
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${err.message.split('\n')[0]}); recorder: ${JSON.stringify(state)?.slice(0, 2000)}`);
  }
}

/**
 * A loopback HTTP server whose every answer is a `200 text/event-stream` (CORS `*`) that ends at
 * once, with no `retry:` field: a native EventSource on it reconnects after the browser's default
 * reconnection time. Tests use that reconnect as the condition "the browser has had its chance to
 * retry" instead of sleeping. `requests` counts the requests per path.
 */
export async function startEndingStreamServer() {
  const requests = new Map();
  const server = createServer((req, res) => {
    const pathname = new URL(req.url, 'http://x').pathname;
    requests.set(pathname, (requests.get(pathname) ?? 0) + 1);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      'Access-Control-Allow-Origin': '*',
      Connection: 'close',
    });
    res.end(':ending\n\n');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    count: (pathname) => requests.get(pathname) ?? 0,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}
