// Debian's Chromium driven by playwright-core (no browser download): launch, a page on the hub's
// origin with the `access_token` cookie, and a native EventSource recorder inside the page.
import { chromium } from 'playwright-core';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_BIN
  ?? ['/usr/bin/chromium', '/usr/lib/chromium/chromium'].find((p) => existsSync(p));

export async function launchChromium() {
  if (!CHROMIUM) throw new Error('Debian chromium not found (bash scripts/install-deps.sh --conformance)');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: no sandbox; no GPU; keep /dev/shm use small.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
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
