// Who may read /metrics (issue 17), through the real binary: a token with the `metrics` or
// `admin` scope by default, anyone with --metrics-auth none or in --dev (unless
// --metrics-auth token is given); a bad --metrics-auth stops the start naming the flag.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HERALD_BIN, startHub } from './lib/hub.mjs';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Starts a hub with `extraArgs`, runs `fn(hub)`, stops it. */
async function withHub(extraArgs, fn) {
  const hub = await startHub({ extraArgs });
  try {
    await fn(hub);
  } finally {
    await hub.stop();
  }
}

const bearer = (token) => ({ headers: { Authorization: `Bearer ${token}` } });

describe('metrics access (--metrics-auth)', () => {
  it('by default /metrics and its history answer 401 without a token, 403 without the scope, 200 with metrics or admin', async () => {
    await withHub([], async (hub) => {
      for (const route of ['/metrics', '/api/v1/metrics/history']) {
        const none = await hub.fetch(route);
        const body = await none.json();
        assert.equal(none.status, 401, route);
        assert.equal(none.headers.get('www-authenticate'), 'Bearer');
        assert.deepEqual(Object.keys(body), ['code', 'message', 'timestamp']);
        assert.equal(body.code, 'unauthorized');
        assert.equal(body.message, 'A bearer token is required.');
        assert.match(body.timestamp, RFC3339);

        const user = await hub.fetch(route, bearer(hub.token('alice', { scope: 'events:publish' })));
        assert.equal(user.status, 403, route);
        assert.deepEqual((({ code, message }) => ({ code, message }))(await user.json()),
          { code: 'forbidden', message: 'The metrics or admin scope is required.' });

        for (const scope of ['metrics', 'admin']) {
          const ok = await hub.fetch(route, bearer(hub.token('ops', { scope })));
          const text = await ok.text();
          assert.equal(ok.status, 200, `${route} with ${scope}: ${text}`);
          if (route === '/metrics') assert.match(text, /^herald_connections\{stream="agui"\} 0$/m);
          else assert.ok(Array.isArray(JSON.parse(text).data.samples));
        }
      }
    });
  });

  it('--metrics-auth none, and --dev, open it to anyone; --dev --metrics-auth token keeps the token', async () => {
    for (const [args, open] of [[['--metrics-auth', 'none'], true], [['--dev'], true], [['--dev', '--metrics-auth', 'token'], false]]) {
      await withHub(args, async (hub) => {
        const res = await hub.fetch('/metrics');
        const text = await res.text();
        assert.equal(res.status, open ? 200 : 401, `${args.join(' ')}: ${text.slice(0, 200)}`);
        if (open) assert.match(text, /^# TYPE herald_connections gauge$/m);
      });
    }
  });

  it('a bad --metrics-auth, on the command line, in HERALD_METRICS_AUTH or in the file, stops the start naming the flag', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-conf-metrics-'));
    try {
      const base = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--jwt-secret', 'x'.repeat(32)];
      for (const [args, env] of [[['--metrics-auth', 'open'], {}], [[], { HERALD_METRICS_AUTH: 'open' }]]) {
        const run = spawnSync(HERALD_BIN, [...base, ...args], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, ...env } });
        assert.notEqual(run.status, 0, `${JSON.stringify(args)} ${JSON.stringify(env)}: non-zero exit`);
        assert.match(run.stderr, /--metrics-auth: open not in \{token,none\}/, run.stderr);
        assert.ok(!run.stdout.includes('listening on'), 'never listened');
      }
      const file = path.join(dir, 'herald.toml');
      writeFileSync(file, 'metrics-auth = "open"\n');
      const fromFile = spawnSync(HERALD_BIN, [...base, '--config', file], { encoding: 'utf8', timeout: 10_000 });
      assert.notEqual(fromFile.status, 0, 'the file: non-zero exit');
      assert.equal(fromFile.stderr, 'herald: --metrics-auth: open not in {token,none}\n', 'the file: one line');
      const check = spawnSync(HERALD_BIN, ['check-config', '--jwt-secret', 'x'.repeat(32)], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /^metrics-auth="token"$/m, 'check-config shows the setting');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
