// Herald's JS client as a package: `npm pack` of clients/js makes a tarball with the built ESM
// and its type declarations, the README and nothing else (no sources, no tests, no maps); that
// tarball, unpacked as node_modules/@herald/client, imports by its package name in Node.js, and
// TypeScript code using it typechecks (and code misusing it does not) against its declarations.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, symlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './lib/hub.mjs';

const CLIENT_DIR = path.join(REPO_ROOT, 'clients', 'js');
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });

describe('JS client: npm pack', () => {
  let dir;
  let tarball;
  let files;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'herald-jsc-pack-'));
    // --ignore-scripts: pack the build the runner made (prepack would rebuild it).
    const out = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], CLIENT_DIR));
    tarball = path.join(dir, out[0].filename);
    files = out[0].files.map((f) => f.path).sort();
  });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('the tarball holds package.json, README.md and dist/*.js with a .d.ts beside each, and no source, test, map or config file', () => {
    const listed = run('tar', ['-tzf', tarball], dir).trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
    assert.deepEqual(listed, files, 'npm pack\'s list is the tarball\'s content');
    assert.ok(files.includes('package.json'));
    assert.ok(files.includes('README.md'));
    const js = files.filter((f) => f.endsWith('.js'));
    assert.ok(js.includes('dist/index.js'));
    for (const f of js) {
      assert.match(f, /^dist\/[\w-]+\.js$/, `only built modules: ${f}`);
      assert.ok(files.includes(f.replace(/\.js$/, '.d.ts')), `${f} has its declarations`);
    }
    const other = files.filter((f) => !['package.json', 'README.md'].includes(f) && !/^dist\/[\w-]+\.(js|d\.ts)$/.test(f));
    assert.deepEqual(other, [], 'nothing else (src/, tests, maps, tsconfig, lock file)');
    const pkg = JSON.parse(readFileSync(path.join(CLIENT_DIR, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.dependencies ?? {}, {}, 'no runtime dependency');
  });

  it('unpacked as node_modules/@herald/client it imports by package name in Node.js, and TypeScript code using its typed events and calls typechecks while misuses are type errors', () => {
    const app = path.join(dir, 'app');
    const pkgDir = path.join(app, 'node_modules', '@herald', 'client');
    mkdirSync(pkgDir, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1'], dir);
    // The optional peer for the AG-UI types: the client's own pinned copy.
    mkdirSync(path.join(app, 'node_modules', '@ag-ui'), { recursive: true });
    symlinkSync(path.join(CLIENT_DIR, 'node_modules', '@ag-ui', 'core'), path.join(app, 'node_modules', '@ag-ui', 'core'), 'dir');
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));

    const exportsSeen = run(process.execPath, ['--input-type=module', '-e',
      "const m = await import('@herald/client'); console.log(Object.keys(m).sort().join(','));"], app).trim();
    assert.deepEqual(exportsSeen.split(','), ['ContextsApi', 'HeraldClient', 'HeraldError', 'SseParser', 'Subscription', 'newIdempotencyKey']);

    writeFileSync(path.join(app, 'app.ts'), `
import { HeraldClient, HeraldError, type AGUIEvent, type A2AEvent, type ContextsStreamEvent } from '@herald/client';
import { EventType } from '@ag-ui/core';

const client = new HeraldClient({ baseUrl: 'http://127.0.0.1:8080', token: async () => 'token' });
const deltas: string[] = [];
const sub = client.subscribe('agui', {
  onEvent(event: AGUIEvent, { id }) {
    if (event.type === EventType.TEXT_MESSAGE_CONTENT) deltas.push(event.delta, id ?? '');
  },
  onReset({ reason }) { deltas.length = reason.length; },
  onError(error, { willRetry }) { if (!willRetry && error instanceof HeraldError) deltas.push(error.code); },
});
client.subscribe('a2a', { onEvent(event: A2AEvent) { if (event.type === 'AGENT_MESSAGE') deltas.push(event.messageId); } });
client.subscribe('contexts', {
  onEvent(e: ContextsStreamEvent) {
    if (e.protocol === 'system' && e.event.type === 'CONTEXTS_SNAPSHOT') deltas.push(e.event.contexts[0]?.context_id ?? '');
  },
});
export async function later(): Promise<string> {
  const r = await client.publish('agui', 'alice', { type: EventType.RUN_STARTED, threadId: 't', runId: 'r' }, { idempotencyKey: 'k' });
  const b = await client.publishBatch([{ user_id: 'alice', protocol: 'a2a', event: { type: 'TASK_SUBMITTED', taskId: 't', contextId: 'c', agentName: 'a' } }]);
  const page = await client.contexts.list({ limit: 10 });
  await sub.close();
  return r.event_id + b.accepted + page.total + (page.nextCursor ?? '');
}
// @ts-expect-error an A2A stream delivers no AG-UI event types
client.subscribe('a2a', { onEvent(event) { return event.type === EventType.RUN_STARTED ? undefined : undefined; } });
// @ts-expect-error TEXT_MESSAGE_CONTENT needs its delta
void client.publish('agui', 'alice', { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm' });
// @ts-expect-error no such stream
client.subscribe('everything', { onEvent() {} });
`);
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, lib: ['ES2022', 'DOM'], types: [], skipLibCheck: false },
      files: ['app.ts'],
    }));
    const tsc = path.join(CLIENT_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      output = run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
    } catch (err) {
      assert.fail(`tsc found errors in the consumer:\n${err.stdout}${err.stderr}`);
    }
    assert.equal(output.trim(), '', 'typechecks; every @ts-expect-error line is an error');
  });
});
