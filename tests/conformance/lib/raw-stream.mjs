// A stream opened with plain `fetch`, its raw bytes kept and watched by `eventsource-parser` (an
// independent SSE parser), for tests that look at bytes, headers and statuses rather than at what
// an EventSource makes of them.
import { createParser } from 'eventsource-parser';
import { withTimeout } from './hub.mjs';

/**
 * Opens `url` with `Authorization: Bearer <token>` (when given) plus `headers`, and keeps reading.
 * `res` is the response (any status); `live` the parsed events and `comments` the comment lines
 * so far; `until(pred)` waits, with a deadline, until pred(live, capture) holds; `stop()` aborts
 * and returns every byte received.
 */
export async function captureStream(url, { token, headers = {} } = {}) {
  const ctl = new AbortController();
  const res = await fetch(url, {
    headers: { Accept: 'text/event-stream', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    signal: ctl.signal,
  });
  const cap = { res, parts: [], live: [], comments: [], waiters: new Set() };
  const wake = () => {
    for (const w of cap.waiters) if (w.pred(cap.live, cap)) { w.resolve(); cap.waiters.delete(w); }
  };
  const decoder = new TextDecoder();
  const parser = createParser({
    onEvent: (e) => { cap.live.push(e); wake(); },
    onComment: (c) => { cap.comments.push(c); wake(); },
  });
  cap.done = (async () => {
    try {
      for await (const chunk of res.body) {
        cap.parts.push(chunk);
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
      cap.end = 'clean';  // the last chunk arrived: a fetch reader would not reconnect
    } catch (err) {
      // The hub never ends a stream cleanly (docs/DECISIONS.md): every end it makes is an error.
      cap.end = err.name === 'AbortError' ? 'aborted' : 'error';
      cap.error = err;
    }
  })();
  cap.text = () => Buffer.concat(cap.parts).toString('utf8');
  cap.until = (pred, timeoutMs, what) => {
    if (pred(cap.live, cap)) return Promise.resolve();
    let w;
    const p = new Promise((resolve) => { w = { pred, resolve }; cap.waiters.add(w); });
    return withTimeout(p, timeoutMs, what).finally(() => cap.waiters.delete(w));
  };
  cap.stop = async () => {
    ctl.abort();
    await withTimeout(cap.done.catch(() => {}), 5_000, 'the stream reader to stop');
    return Buffer.concat(cap.parts);
  };
  return cap;
}
