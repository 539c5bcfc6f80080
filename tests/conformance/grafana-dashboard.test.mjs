// docs/grafana/herald-dashboard.json cannot drift from the hub: every metric its queries use is
// in a real hub's /metrics, every panel is named and queries Prometheus through the
// ${DS_PROMETHEUS} input the dashboard declares.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, publishOk, useHub, uniqueId } from './lib/hub.mjs';

const DASHBOARD = path.join(REPO_ROOT, 'docs', 'grafana', 'herald-dashboard.json');

/** Every panel, those inside rows included. */
function allPanels(dashboard) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** The metric names a PromQL expression reads (Herald's are all herald_…). */
function metricNames(expr) {
  return [...expr.matchAll(/\b(herald_[a-z0-9_]+)\b/g)].map((m) => m[1]);
}

describe('the Grafana dashboard in docs/grafana', () => {
  let hub;
  useHub({}, (h) => { hub = h; });
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const panels = allPanels(dashboard);
  const queried = panels.filter((p) => p.type !== 'row');

  it('declares the Prometheus data source as the DS_PROMETHEUS input and every query uses it', () => {
    assert.deepEqual(dashboard.__inputs.map((i) => [i.name, i.type, i.pluginId]), [['DS_PROMETHEUS', 'datasource', 'prometheus']]);
    assert.ok(queried.length >= 8, `panels: ${queried.length}`);
    for (const p of queried) {
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, p.title);
      for (const t of p.targets) assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, p.title);
    }
    for (const v of dashboard.templating.list) assert.equal(v.datasource.uid, '${DS_PROMETHEUS}', v.name);
  });

  it('names every panel, once, and gives each a query', () => {
    const titles = panels.map((p) => p.title);
    for (const t of titles) assert.match(t ?? '', /\S/, 'a panel without a title');
    assert.equal(new Set(titles).size, titles.length, `duplicate titles: ${titles}`);
    for (const p of queried) {
      assert.ok(p.targets.length > 0, `${p.title}: no query`);
      for (const t of p.targets) assert.ok(metricNames(t.expr).length > 0, `${p.title}: ${t.expr} reads no herald_ metric`);
    }
    for (const needed of ['Publish rate by protocol', 'Deliveries/s', 'Open streams by stream', 'Publish latency quantiles',
      'Rejections and limits/s', 'Store errors/s']) {
      assert.ok(titles.includes(needed), `a panel named "${needed}"`);
    }
  });

  it("reads only metrics a real hub's /metrics exposes", async () => {
    // herald_events_published_total has a series once an event of some type is stored.
    const user = uniqueId('grafana');
    await publishOk(hub, 'agui', { user_id: user, type: 'RUN_STARTED', threadId: 't', runId: 'r' });
    const res = await hub.fetchMetrics();
    assert.equal(res.status, 200);
    const exposed = new Set();
    for (const line of (await res.text()).split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{| )/.exec(line);
      if (m) exposed.add(m[1]);
    }
    assert.ok(exposed.has('herald_publish_latency_seconds_bucket'), 'the scrape was parsed');
    const used = new Set(queried.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))));
    for (const v of dashboard.templating.list) for (const name of metricNames(v.definition)) used.add(name);
    const missing = [...used].filter((name) => !exposed.has(name));
    assert.deepEqual(missing, [], `queried but not exposed by /metrics: ${missing.join(', ')}`);
  });
});
