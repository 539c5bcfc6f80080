// Shared helpers for the conformance suite: start and stop a real `herald serve` process, mint
// tokens with `herald token`, publish over HTTP, and wait for conditions with a deadline.
//
// Nothing here sleeps to synchronise: every wait is a condition with a deadline (an event
// promise or a bounded poll), and every loop has a bound.
import { before, after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');

/** The hub binary under test: $HERALD_BIN, else build/herald of this repository. */
export const HERALD_BIN = process.env.HERALD_BIN
  ? path.resolve(process.env.HERALD_BIN)
  : path.join(REPO_ROOT, 'build', 'herald');

if (!existsSync(HERALD_BIN)) {
  throw new Error(`herald binary not found at ${HERALD_BIN} (build it, or set HERALD_BIN)`);
}

const LISTENING_RE = /listening on http:\/\/([^\s/]+):(\d+)/;
const hubs = new Set();

// Last resort if a test file dies without running its `after` hooks: no hub outlives the runner.
process.on('exit', () => {
  for (const hub of hubs) {
    try { hub.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/** A condition with a deadline: resolves with fn()'s truthy value, rejects after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 10_000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  const maxRounds = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let round = 0; round <= maxRounds; round++) {
    const value = await fn();
    if (value) return value;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Rejects with a labelled error if `promise` has not settled within timeoutMs. */
export function withTimeout(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Conditions a recording client waits on: `check(subject)` re-tests every pending predicate
 * (call it after each recorded entry); `wait(subject, predicate, timeoutMs, what)` resolves with
 * `subject` once predicate(subject) holds, or rejects after the timeout.
 */
export class Waiters {
  #pending = new Set();

  check(subject) {
    for (const w of this.#pending) {
      let done = false;
      try { done = w.predicate(subject); } catch (err) { w.reject(err); this.#pending.delete(w); continue; }
      if (done) { w.resolve(subject); this.#pending.delete(w); }
    }
  }

  wait(subject, predicate, timeoutMs, what) {
    if (predicate(subject)) return Promise.resolve(subject);
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = { predicate, resolve, reject };
      this.#pending.add(waiter);
    });
    return withTimeout(p, timeoutMs, what).finally(() => this.#pending.delete(waiter));
  }
}

/** A pause switch for reading: `open` is a promise that is settled while the gate is open. */
export function newGate() {
  const gate = { paused: false, open: Promise.resolve(), release: () => {} };
  gate.pause = () => {
    if (gate.paused) return;
    gate.paused = true;
    gate.open = new Promise((resolve) => { gate.release = resolve; });
  };
  gate.resume = () => {
    gate.paused = false;
    gate.release();
    gate.open = Promise.resolve();
  };
  return gate;
}

export function uniqueId(prefix) {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Starts `herald serve` on 127.0.0.1 (port 0 unless `port` is given) with a fresh data dir
 * (or `dataDir`), an HS256 secret, and `extraArgs`. Resolves once it printed its address.
 */
export async function startHub({ extraArgs = [], heartbeat = 5, port = 0, dataDir, secret } = {}) {
  const ownDataDir = !dataDir;
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'herald-conf-'));
  const jwtSecret = secret ?? randomBytes(24).toString('hex');
  const args = [
    'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--jwt-secret', jwtSecret,
    '--heartbeat-interval', String(heartbeat), '--threads', '2', '--log-level', 'warn', ...extraArgs,
  ];
  const proc = spawn(HERALD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const hub = {
    proc, dataDir: dir, secret: jwtSecret, output: '', exited: false, exitCode: null,
    url: '', port: 0,
  };
  hubs.add(hub);
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      hub.exited = true;
      hub.exitCode = code ?? signal;
      hubs.delete(hub);
      resolve(hub.exitCode);
    });
  });
  hub.exitedPromise = exited;
  const listening = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      hub.output += chunk.toString('utf8');
      if (hub.output.length > 200_000) hub.output = hub.output.slice(-100_000);
      const m = LISTENING_RE.exec(hub.output);
      if (m && !hub.url) {
        hub.url = `http://${m[1]}:${m[2]}`;
        hub.port = Number(m[2]);
        resolve();
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('error', reject);
    exited.then((code) => reject(new Error(`herald exited (${code}) before listening:\n${hub.output}`)));
  });
  try {
    await withTimeout(listening, 15_000, `herald to print "listening on" (${HERALD_BIN})`);
  } catch (err) {
    proc.kill('SIGKILL');
    if (ownDataDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  hub.token = (sub, { scope, ttl } = {}) => mintToken(jwtSecret, sub, { scope, ttl });
  hub.adminToken = hub.token('conformance-admin', { scope: 'events:publish admin' });
  // /metrics needs the `metrics` (or `admin`) scope outside --dev, as a Prometheus scrape sends it.
  hub.metricsToken = hub.token('conformance-prometheus', { scope: 'metrics' });
  /** SIGTERM (the hub drains), SIGKILL if it does not exit in time; removes its own data dir. */
  hub.stop = async ({ keepDataDir = false } = {}) => {
    if (!hub.exited) {
      proc.kill('SIGTERM');
      try {
        await withTimeout(exited, 15_000, 'herald to exit after SIGTERM');
      } catch {
        proc.kill('SIGKILL');
        await withTimeout(exited, 5_000, 'herald to exit after SIGKILL');
      }
    }
    if (ownDataDir && !keepDataDir) rmSync(dir, { recursive: true, force: true });
  };
  hub.publish = (protocol, event, opts) => publish(hub, protocol, event, opts);
  hub.disconnectUser = (userId) => disconnectUser(hub, userId);
  hub.fetch = (pathname, init = {}) => fetch(`${hub.url}${pathname}`, init);
  hub.fetchMetrics = () => hub.fetch('/metrics', { headers: { Authorization: `Bearer ${hub.metricsToken}` } });
  return hub;
}

/** `herald token --sub SUB [--scope S] [--ttl T] --jwt-secret SECRET`; stdout is the token. */
export function mintToken(secret, sub, { scope, ttl } = {}) {
  const args = ['token', '--sub', sub, '--jwt-secret', secret];
  if (scope) args.push('--scope', scope);
  if (ttl) args.push('--ttl', String(ttl));
  const out = execFileSync(HERALD_BIN, args, { encoding: 'utf8', timeout: 10_000 }).trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(out)) throw new Error(`herald token printed something else: ${out}`);
  return out;
}

/**
 * POST /api/v1/webhook/{protocol} with `event` plus "user_id". Returns {status, body, headers}.
 * `token` defaults to the user's own token; `raw` sends that exact body text instead.
 */
export async function publish(hub, protocol, event, { userId, token, raw, headers = {} } = {}) {
  const user = userId ?? event.user_id;
  const body = raw ?? JSON.stringify({ user_id: user, ...event });
  const res = await fetch(`${hub.url}/api/v1/webhook/${protocol}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${token ?? hub.token(user)}`,
      ...headers,
    },
    body,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* left null */ }
  return { status: res.status, body: json, text, headers: res.headers };
}

/** Publishes and insists on `200 {"status":"broadcasted",…,"event_id"}`; returns the event_id. */
export async function publishOk(hub, protocol, event, opts) {
  const res = await publish(hub, protocol, event, opts);
  if (res.status !== 200 || res.body?.status !== 'broadcasted' || typeof res.body?.event_id !== 'string') {
    throw new Error(`publish ${protocol} ${event.type} answered ${res.status} ${res.text}`);
  }
  return res.body.event_id;
}

/** DELETE /api/v1/admin/users/{id}/connections with an admin token; returns {status, body}. */
export async function disconnectUser(hub, userId) {
  const res = await fetch(`${hub.url}/api/v1/admin/users/${encodeURIComponent(userId)}/connections`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${hub.adminToken}` },
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* left null */ }
  if (res.status !== 200) throw new Error(`admin disconnect answered ${res.status} ${text}`);
  return json;
}

/**
 * Starts a hub on `port` (one that another hub just left, e.g. after a drain) with `options` as
 * for startHub. Another process may take the port between the old hub's exit and this start:
 * a bounded retry, then a clear failure.
 */
export async function startHubOnPort(port, options = {}, { attempts = 5 } = {}) {
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await startHub({ ...options, port });
    } catch (err) {
      lastError = err;
      if (!/Address already in use/i.test(err.message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt)); // back-off between bounded attempts
    }
  }
  throw new Error(`port ${port} was taken by another process before the hub restarted (${attempts} attempts): ${lastError?.message}`);
}

/**
 * Publishes `count` TEXT_MESSAGE_CONTENT events of `filler` for `user` in one batch (slow-consumer
 * tests: large events that fill a client's buffers) and returns their ids, failing unless every
 * item was stored. `tag` goes into each delta, so every event differs.
 */
export async function publishFillerBatch(hub, { user, token, count, filler, tag }) {
  const items = [];
  for (let i = 0; i < count; i++) {
    items.push({ user_id: user, protocol: 'agui', event: { type: 'TEXT_MESSAGE_CONTENT', messageId: `${user}-big`, delta: `${tag}.${i} ${filler}` } });
  }
  const res = await hub.fetch('/api/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(items),
  });
  const body = await res.json();
  if (res.status !== 200 || body.accepted !== count) {
    throw new Error(`batch ${tag}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  }
  return body.results.map((r) => r.event_id);
}

/** The value of one Prometheus series of the hub's /metrics (`name{labels}` exactly as rendered). */
export async function metric(hub, series) {
  const text = await (await hub.fetchMetrics()).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no series ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** Herald's event id: `<8 hex history>-<decimal sequence>`; sequence 0 is the position before a user's first event. */
export function parseEventId(id) {
  const m = /^([0-9a-f]{8})-(0|[1-9][0-9]*)$/.exec(id);
  if (!m) throw new Error(`not a Herald event id: ${JSON.stringify(id)}`);
  return { history: m[1], seq: Number(m[2]) };
}

/** The event as the hub should deliver it: routing fields removed, timestamp possibly added. */
export function withoutRouting(event) {
  const { user_id: _u, context_id: _c, ...rest } = event;
  return rest;
}

/**
 * The per-describe fixture: registers a `before` hook that starts a hub with `options` and hands
 * it to `onStarted`, and an `after` hook that releases every resource pushed onto the returned
 * array (its `stop()`, else its `close()`), then stops the hub.
 */
export function useHub(options, onStarted) {
  const owned = [];
  let hub;
  before(async () => {
    hub = await startHub(options);
    onStarted(hub);
  });
  after(async () => {
    for (const resource of owned.splice(0)) {
      try {
        await (typeof resource.stop === 'function' ? resource.stop() : resource.close());
      } catch { /* already closed */ }
    }
    await hub?.stop();
  });
  return owned;
}
