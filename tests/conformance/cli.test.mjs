// The command-line clients of SPEC §8 against a real hub: `herald publish` (one event, a file of
// events as one batch, a refusal) and `herald tail` (one line per event, named frames not
// printed, resuming with Last-Event-ID after the hub ends its stream).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HERALD_BIN, uniqueId, useHub, waitFor, withTimeout } from './lib/hub.mjs';

/** Runs `herald publish …` to completion; returns {status, answer (parsed stdout), stderr}. */
function herald(args) {
  const run = spawnSync(HERALD_BIN, args, { encoding: 'utf8', timeout: 10_000 });
  let answer = null;
  try { answer = JSON.parse(run.stdout); } catch { /* left null */ }
  return { status: run.status, stdout: run.stdout, answer, stderr: run.stderr };
}

/** Starts `herald tail …`; `lines` holds its stdout lines, `errors` its stderr, as they come. */
function startTail(args) {
  const proc = spawn(HERALD_BIN, ['tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = { proc, lines: [], stderr: '', exited: null };
  let pending = '';
  proc.stdout.on('data', (chunk) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop();
    tail.lines.push(...parts);
  });
  proc.stderr.on('data', (chunk) => { tail.stderr += chunk.toString('utf8'); });
  tail.exit = new Promise((resolve) => proc.on('exit', (code) => { tail.exited = code; resolve(code); }));
  tail.stop = async () => {
    if (tail.exited === null) proc.kill('SIGTERM');
    await withTimeout(tail.exit, 5_000, 'herald tail to exit');
  };
  return tail;
}

describe('herald publish and herald tail', () => {
  let hub;
  const owned = useHub({ heartbeat: 0.2 }, (started) => { hub = started; });
  const agentsOf = async (user) => {
    const res = await hub.fetch(`/api/v1/admin/users/${user}/connections`, { headers: { Authorization: `Bearer ${hub.adminToken}` } });
    return (await res.json()).data.connections.agui;
  };

  it('tail prints one line per event (no heartbeat or connected frame) and resumes after the hub ends its stream; publish sends one event or a file as one batch and exits 1 on a refusal', async () => {
    const user = uniqueId('cli');
    const token = hub.token(user);
    const client = ['--url', hub.url, '--token', token];
    const tail = startTail([...client, '--stream', 'agui']);
    owned.push(tail);
    await waitFor(async () => (await agentsOf(user)) === 1, { what: 'the tail stream to open' });
    // A second tail with --raw, opened after the first, shows the named frames both receive.
    const raw = startTail([...client, '--stream', 'agui', '--raw', '--no-follow']);
    owned.push(raw);
    await waitFor(async () => (await agentsOf(user)) === 2, { what: 'the raw tail stream to open' });
    await waitFor(() => raw.lines.filter((l) => l === 'event: heartbeat').length >= 2, { what: 'two heartbeats (every 200 ms)' });
    assert.ok(raw.lines.includes('event: connected'), 'the raw frames include the connected event');

    const one = herald(['publish', ...client, '--user', user, '--event', JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'one', timestamp: 1 })]);
    assert.equal(one.status, 0, one.stdout + one.stderr);
    assert.equal(one.answer.status, 'broadcasted');
    assert.equal(one.answer.connection_count, 2, 'both tails');

    const dir = mkdtempSync(path.join(tmpdir(), 'herald-conf-cli-'));
    try {
      const file = path.join(dir, 'events.ndjson');
      writeFileSync(file, [
        JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'two', timestamp: 2 }),
        '',
        JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'three', timestamp: 3 }),
      ].join('\n'));
      const batch = herald(['publish', ...client, '--user', user, '--file', file]);
      assert.equal(batch.status, 0, batch.stdout + batch.stderr);
      assert.deepEqual(batch.answer.results.map((r) => r.status), [200, 200], 'one batch of two (the blank line skipped)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const refused = herald(['publish', ...client, '--user', uniqueId('other'), '--event', JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'spoof' })]);
    assert.equal(refused.status, 1, 'a refusal exits 1');
    assert.equal(refused.answer.code, 'forbidden');

    const expected = ['one', 'two', 'three'].map((delta, i) => JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta, timestamp: i + 1 }));
    await waitFor(() => tail.lines.length >= 3, { what: 'three lines from tail' });
    assert.deepEqual(tail.lines, expected, 'the events as delivered, one per line, nothing else');

    // The hub ends the streams; tail resumes after the last id it saw and misses nothing, the
    // --no-follow one exits 0.
    await hub.disconnectUser(user);
    assert.equal(await withTimeout(raw.exit, 5_000, 'the --no-follow tail to exit'), 0);
    await waitFor(() => tail.stderr.includes('resuming after'), { what: 'tail to report the resume' });
    await waitFor(async () => (await agentsOf(user)) === 1, { what: 'the tail stream to reopen' });
    const four = herald(['publish', ...client, '--user', user, '--event', JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'four', timestamp: 4 })]);
    assert.equal(four.status, 0);
    await waitFor(() => tail.lines.length >= 4, { what: 'the fourth line' });
    assert.deepEqual(tail.lines, [...expected, JSON.stringify({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'four', timestamp: 4 })],
      'exactly once, in order, across the resume');
    assert.match(tail.stderr, new RegExp(`resuming after ${one.answer.event_id.split('-')[0]}-\\d+`), 'the resume names the cursor');
  });
});
