// SSE framing checked by `eventsource-parser` (an independent SSE parser) on the raw bytes of a
// `fetch` body, fed in 1-byte, random and whole chunks: ids, compact one-line JSON, the retry
// field, and hostile string content that must not create fields or events.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createParser } from 'eventsource-parser';
import { publish, publishOk, uniqueId, parseEventId, waitFor, withoutRouting, useHub } from './lib/hub.mjs';
import { captureStream } from './lib/raw-stream.mjs';

const HOSTILE_STRINGS = [
  '\n\ndata: x',
  '\r',
  '\r\n',
  'id: 9',
  '\nid: 9\n',
  '\r\nid: 9\r\n\r\ndata: {"type":"INJECTED"}\r\n\r\n',
  'event: reset\ndata: {"type":"STREAM_RESET"}\n\n',
  'retry: 1\n\n',
  ':comment\n\n',
  '\u2028\u2029\u0085',
  'nul\u0000byte',
  'héllo ✓ 🎉 — 多字节',
  'data:', '\n', '\n\n\n', 'id:', 'event:',
];

/** True when `text` has no insignificant whitespace (none outside JSON strings). */
function isCompactJson(text) {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') return false;
  }
  return !inString;
}

/** Parses SSE text fed as `chunks` (strings) with eventsource-parser; returns what it saw. */
function parseChunks(chunks) {
  const out = { events: [], retries: [], comments: [], errors: [] };
  const parser = createParser({
    onEvent: (e) => out.events.push({ id: e.id, event: e.event, data: e.data }),
    onRetry: (r) => out.retries.push(r),
    onComment: (c) => out.comments.push(c),
    onError: (err) => out.errors.push(String(err?.message ?? err)),
  });
  for (const c of chunks) parser.feed(c);
  return out;
}

/** Splits bytes into chunks of the given sizes (cycled) and decodes them as a streaming client does. */
function decodeInChunks(bytes, nextSize) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const chunks = [];
  let guard = 0;
  for (let off = 0; off < bytes.length && guard < bytes.length + 1; guard++) {
    const size = Math.max(1, nextSize());
    chunks.push(decoder.decode(bytes.subarray(off, off + size), { stream: true }));
    off += size;
  }
  chunks.push(decoder.decode());
  return chunks;
}

/** A small deterministic PRNG (mulberry32) so a failing chunking can be reproduced. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('eventsource-parser on the raw stream bytes', () => {
  let hub;
  const captures = useHub({ heartbeat: 60 }, (started) => { hub = started; });

  it('retry is 2000 and the first bytes are `retry: 2000` + a comment, on all three streams, with the SSE headers', async () => {
    const user = uniqueId('retry');
    for (const stream of ['agui', 'a2a', 'contexts']) {
      const cap = await captureStream(`${hub.url}/api/v1/stream/${stream}`, { token: hub.token(user) });
      captures.push(cap);
      assert.equal(cap.res.status, 200);
      assert.match(cap.res.headers.get('content-type'), /^text\/event-stream/);
      assert.equal(cap.res.headers.get('cache-control'), 'no-cache');
      assert.equal(cap.res.headers.get('x-accel-buffering'), 'no');
      if (stream === 'contexts') await cap.until((ev) => ev.length >= 1, 5_000, 'the snapshot');
      else {
        // Nothing is published, so wait for the first bytes themselves.
        await waitFor(() => Buffer.concat(cap.parts).includes('\n\n'), { timeoutMs: 2_000, what: 'the first bytes' });
      }
      const bytes = await cap.stop();
      const text = bytes.toString('utf8');
      assert.ok(text.startsWith('retry: 2000\n:'), `${stream}: starts with retry and a comment: ${JSON.stringify(text.slice(0, 40))}`);
      const parsed = parseChunks(decodeInChunks(bytes, () => 1));
      assert.deepEqual(parsed.retries, [2000], `${stream}: one retry field, 2000 ms`);
      assert.ok(parsed.comments.length >= 1, `${stream}: a comment line`);
      assert.deepEqual(parsed.errors, []);
    }
  });

  it('in 1-byte, random and whole chunks: every data frame has an id, ids strictly increase, each data is one line of compact JSON, and hostile strings create no field or event', async () => {
    const user = uniqueId('frames');
    const token = hub.token(user);
    const agui = await captureStream(`${hub.url}/api/v1/stream/agui`, { token });
    const ctx = await captureStream(`${hub.url}/api/v1/stream/contexts`, { token });
    captures.push(agui, ctx);
    await ctx.until((ev) => ev.length >= 1, 5_000, 'the contexts snapshot');

    const published = []; // {id, event (as delivered, without timestamp)}
    const add = (id, event) => published.push({ id, event: withoutRouting(event) });

    // 1. A pretty-printed, multi-line body (CRLF line breaks inside the JSON whitespace).
    const pretty = {
      user_id: user, type: 'STATE_SNAPSHOT',
      snapshot: { list: [1, 2, { deep: 'value' }], text: 'line1\nline2', empty: {}, none: null, flag: false, n: -12.5 },
    };
    const prettyBody = JSON.stringify(pretty, null, 2).replace(/\n/g, '\r\n');
    assert.ok(prettyBody.split('\n').length > 10, 'the body really is multi-line');
    const res = await publish(hub, 'agui', pretty, { raw: prettyBody });
    assert.equal(res.status, 200, res.text);
    add(res.body.event_id, pretty);

    // 2. Hostile strings in values, in keys, and in an unknown extra field.
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      const ev = { user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: `${user}-m${i}`, delta: s };
      add(await publishOk(hub, 'agui', ev), ev);
    }
    const keys = { user_id: user, type: 'CUSTOM', name: 'hostile-keys', value: Object.fromEntries(HOSTILE_STRINGS.map((s, i) => [s, i])) };
    add(await publishOk(hub, 'agui', keys), keys);
    const extra = { user_id: user, type: 'CUSTOM', name: '\n\nid: 9\nevent: reset', value: '\r\r\n', '\nretry: 1\n': 'data: x\n\n' };
    add(await publishOk(hub, 'agui', extra), extra);
    const marker = { user_id: user, type: 'CUSTOM', name: 'marker', value: true };
    const markerId = await publishOk(hub, 'agui', marker);
    add(markerId, marker);

    await agui.until((ev) => ev.some((e) => e.id === markerId), 10_000, 'the marker on agui');
    await ctx.until((ev) => ev.some((e) => e.id === markerId), 10_000, 'the marker on contexts');
    const streams = { agui: await agui.stop(), contexts: await ctx.stop() };

    for (const [stream, bytes] of Object.entries(streams)) {
      const text = bytes.toString('utf8');
      // Byte level: LF only, and every frame is exactly `id: …\ndata: …` (two lines).
      assert.ok(!text.includes('\r'), `${stream}: no CR byte anywhere in the stream`);
      const frames = text.split('\n\n').filter((f) => f.length > 0);
      // A fresh agui stream opens with its cursor in a named `connected` event, in the same block
      // as the preamble; the contexts stream's cursor is its snapshot's id.
      const opening = stream === 'agui'
        ? /^retry: 2000\n:[^\n]*\nid: [0-9a-f]{8}-0\nevent: connected\ndata: \{"type":"CONNECTED","connectionId":"[1-9][0-9]*"\}$/
        : /^retry: 2000\n:[^\n]*$/;
      assert.match(frames[0], opening, `${stream}: preamble`);
      for (const f of frames.slice(1)) {
        assert.match(f, /^id: [^\n]*\ndata: [^\n]*$/, `${stream}: a frame is one id line and one data line: ${JSON.stringify(f.slice(0, 200))}`);
      }

      // Parser level, under different chunkings: identical results.
      const rand = (seed) => { const r = prng(seed); return () => 1 + Math.floor(r() * 97); };
      const chunkings = {
        whole: [text],
        '1-byte': decodeInChunks(bytes, () => 1),
        'random(seed 1)': decodeInChunks(bytes, rand(1)),
        'random(seed 42)': decodeInChunks(bytes, rand(42)),
        'random(seed 2024)': decodeInChunks(bytes, rand(2024)),
        'small random(seed 7)': decodeInChunks(bytes, (() => { const r = prng(7); return () => 1 + Math.floor(r() * 5); })()),
      };
      const reference = parseChunks(chunkings.whole);
      for (const [name, chunks] of Object.entries(chunkings)) {
        assert.deepEqual(parseChunks(chunks), reference, `${stream}: ${name} chunks parse like the whole`);
      }
      assert.deepEqual(reference.errors, [], `${stream}: no parse errors`);
      assert.deepEqual(reference.retries, [2000], `${stream}: exactly one retry field (none injected)`);
      assert.equal(reference.comments.length, 1, `${stream}: exactly the opening comment (none injected)`);

      let events = reference.events;
      if (stream === 'agui') {
        assert.equal(events[0].event, 'connected', 'agui: the connected event first');
        assert.equal(parseEventId(events[0].id).seq, 0, 'agui: its cursor is before the user\'s first event');
        events = events.slice(1);
      }
      for (const e of events) {
        assert.ok(e.id && e.id.length > 0, `${stream}: every data frame has an id: ${e.data}`);
        assert.equal(e.event, undefined, `${stream}: no event: field (onmessage gets it)`);
        assert.ok(!e.data.includes('\n') && !e.data.includes('\r'), `${stream}: data is one line`);
        JSON.parse(e.data);
        assert.ok(isCompactJson(e.data), `${stream}: data is compact JSON: ${e.data}`);
      }
      const userEvents = events.filter((e) => JSON.parse(e.data).protocol !== 'system');
      assert.deepEqual(userEvents.map((e) => e.id), published.map((p) => p.id), `${stream}: exactly the published events, no extra, in order`);
      const seqs = events.map((e) => parseEventId(e.id).seq);
      assert.ok(seqs.every((q, i) => i === 0 || q > seqs[i - 1]), `${stream}: ids strictly increase: ${seqs}`);
      for (const [i, e] of userEvents.entries()) {
        let got = JSON.parse(e.data);
        if (stream === 'contexts') {
          assert.equal(got.protocol, 'agui');
          got = got.event;
        }
        const { timestamp, ...rest } = got;
        assert.ok(Number.isInteger(timestamp), 'integer timestamp added');
        assert.deepEqual(rest, published[i].event, `${stream}: event ${e.id} arrives with its content intact`);
      }
    }
  });
});
