// The dashboard's live charts (issue 17) in Chromium: an admin's dashboard draws the hub's own
// history (GET /api/v1/metrics/history) as inline SVG, the published events show as a rise of
// the events/s series, and a dashboard opened afterwards shows them at once (the hub kept them).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, uniqueId } from './lib/hub.mjs';
import { launchChromium, pageWithToken } from './lib/browser.mjs';

const H = 80; // the charts' viewBox height: a value of 0 is drawn at y = 80

/** The chart `chart`'s series `series` as drawn: its peak and the y of each point. */
function readSeries(page, chart, series) {
  return page.evaluate(({ chart, series }) => {
    const lines = [...document.querySelectorAll(`svg[data-chart="${chart}"] polyline[data-series="${series}"]`)];
    if (!lines.length) return null;
    return {
      peak: Number(lines[0].getAttribute('data-peak')),
      ys: lines.flatMap((l) => l.getAttribute('points').trim().split(/\s+/).map((p) => Number(p.split(',')[1]))),
    };
  }, { chart, series });
}

describe('the dashboard charts (Chromium)', () => {
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

  async function openDashboard(token) {
    const opened = await pageWithToken(browser, hub, token);
    contexts.push(opened.context);
    await opened.page.goto(`${hub.url}/`, { waitUntil: 'load', timeout: 15_000 });
    return opened;
  }

  it('an admin sees four charts that rise with the events published, the streams open and the publish latency', async () => {
    const admin = uniqueId('chart-admin');
    const token = hub.token(admin, { scope: 'events:publish admin' });
    const { page, problems, requests } = await openDashboard(token);
    for (const chart of ['events', 'deliveries', 'streams', 'latency']) {
      await page.locator(`svg[data-chart="${chart}"]`).waitFor({ timeout: 10_000 });
    }
    // The first sample is taken a second after the hub started: its series' polyline.
    await page.locator('svg[data-chart="events"] polyline[data-series="events_per_second"]').waitFor({ state: 'attached', timeout: 10_000 });
    await page.locator('#pane-agui .conn[data-state="open"]').waitFor({ timeout: 10_000 });
    const before = await readSeries(page, 'events', 'events_per_second');
    assert.ok(before, 'the events/s series is drawn');
    assert.equal(before.peak, 0, 'a fresh hub has published nothing');
    for (const y of before.ys) assert.equal(y, H, 'every point at zero');

    // 40 events in one batch, for the admin's own streams (so they are delivered too).
    const items = Array.from({ length: 40 }, (_, i) => ({
      user_id: admin, protocol: 'agui', event: { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: `chart ${i}` },
    }));
    const res = await hub.fetch('/api/v1/events', {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify(items),
    });
    assert.equal(res.status, 200, await res.text());

    // The hub samples every second and the page polls every 2 s: a bounded wait for the rise.
    await page.waitForFunction(() => {
      const line = document.querySelector('svg[data-chart="events"] polyline[data-series="events_per_second"]');
      return line && Number(line.getAttribute('data-peak')) > 0;
    }, undefined, { timeout: 15_000, polling: 100 });
    const events = await readSeries(page, 'events', 'events_per_second');
    assert.ok(events.peak >= 1, `events/s peak ${events.peak}`);
    assert.ok(events.ys.some((y) => y < H), 'a point of the polyline above the zero line');
    assert.ok(events.ys.every((y) => y >= 0 && y <= H), 'every point inside the chart');

    await page.waitForFunction(() => {
      const line = document.querySelector('svg[data-chart="deliveries"] polyline[data-series="deliveries_per_second"]');
      return line && Number(line.getAttribute('data-peak')) > 0;
    }, undefined, { timeout: 10_000, polling: 100 });
    const streams = await readSeries(page, 'streams', 'open_agui');
    assert.ok(streams.peak >= 1, "the dashboard's own agui stream is counted");
    const p99 = await readSeries(page, 'latency', 'latency_p99');
    assert.ok(p99 && p99.peak > 0, 'the publish latency p99 of the interval with the batch');
    assert.match(await page.locator('svg[data-chart="events"]').getAttribute('aria-label'), /^events\/s published: events\/s now/);

    // The charts came from the hub's history with the admin's token, and nothing from elsewhere.
    const history = requests.filter((r) => new URL(r.url()).pathname === '/api/v1/metrics/history');
    // The whole history until the page has a sample (the hub takes its first a second after it
    // started), then only what is new.
    const since = history.map((r) => /[?&]since=\d+/.test(r.url()));
    assert.ok(since.includes(true), `polled with ?since=: ${history.map((r) => r.url())}`);
    assert.ok(since.slice(since.indexOf(true)).every(Boolean), `then only ?since=: ${history.map((r) => r.url())}`);
    assert.deepEqual(requests.filter((r) => !r.url().startsWith(hub.url) && !r.url().startsWith('data:')).map((r) => r.url()), [], 'no request leaves the hub');
    assert.deepEqual(problems, [], 'no console errors or page errors');
  });

  it('a dashboard opened later shows the minutes before it at once, from the hub', async () => {
    const admin = uniqueId('chart-late');
    const { page } = await openDashboard(hub.token(admin, { scope: 'admin' }));
    await page.locator('svg[data-chart="events"] polyline[data-series="events_per_second"]').waitFor({ state: 'attached', timeout: 10_000 });
    const first = await readSeries(page, 'events', 'events_per_second');
    assert.ok(first.peak >= 1, `the first drawing already has the earlier batch (peak ${first.peak})`);
  });

  it('without the admin scope there are no charts (and no history is asked for)', async () => {
    const user = uniqueId('chart-user');
    const { page, requests } = await openDashboard(hub.token(user));
    await page.locator('#pane-agui .conn[data-state="open"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#admin').isHidden(), true);
    assert.equal(await page.locator('svg[data-chart]').count(), 0);
    assert.equal(requests.filter((r) => r.url().includes('/api/v1/metrics/history')).length, 0);
  });
});
