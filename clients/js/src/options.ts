// What every request of the client shares: where the hub is, how to authenticate, which fetch.
import type { BackoffOptions } from './backoff.js';
import { HeraldError } from './errors.js';

/** A bearer token, or a function returning a fresh one (called before every request). */
export type TokenSource = string | (() => string | Promise<string>);

export interface HeraldClientOptions {
  /**
   * The hub's origin, e.g. `https://hub.example.com` (a path prefix is kept). Default `''`:
   * relative URLs, i.e. the page's own origin in a browser. Node.js needs an absolute URL.
   */
  baseUrl?: string;
  /**
   * Bearer token (SPEC §2). Omit it for cookie auth: the browser then sends the hub's
   * `access_token` cookie (`credentials: 'include'`).
   */
  token?: TokenSource;
  /**
   * `fetch`'s credentials mode. Default: `'include'` without a token (cookie auth, also across
   * origins the hub allows with `--cors-origin`), `'same-origin'` with one.
   */
  credentials?: RequestCredentials;
  /** Extra headers on every request (e.g. `Cookie` in Node.js, where fetch has no cookie jar). */
  headers?: Record<string, string>;
  /** The fetch to use. Default: the global one. */
  fetch?: typeof fetch;
  /**
   * Retries of API calls (publish, batch, contexts) refused with `429`/`503` (after their
   * `Retry-After`) or, for idempotent requests, failed on the network.
   */
  retry?: RetryOptions;
}

export interface RetryOptions extends BackoffOptions {
  /** Retries after the first attempt. Default 3; 0 never retries. */
  maxRetries?: number;
}

/** The resolved options every request uses. */
export interface Transport {
  baseUrl: string;
  token: TokenSource | undefined;
  credentials: RequestCredentials;
  headers: Record<string, string>;
  fetch: typeof fetch;
}

export function makeTransport(options: HeraldClientOptions): Transport {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('no fetch: pass options.fetch');
  return {
    baseUrl: (options.baseUrl ?? '').replace(/\/+$/, ''),
    token: options.token,
    credentials: options.credentials ?? (options.token === undefined ? 'include' : 'same-origin'),
    headers: { ...(options.headers ?? {}) },
    // Called as a plain function: browsers' fetch throws "Illegal invocation" when called as a
    // method of another object.
    fetch: (input, init) => fetchImpl(input, init),
  };
}

/** The headers of one request: the configured ones, then `Authorization` when there is a token. */
export async function requestHeaders(t: Transport, extra: Record<string, string>): Promise<Headers> {
  const headers = new Headers(t.headers);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  if (t.token !== undefined) {
    let token: unknown;
    try {
      token = typeof t.token === 'function' ? await t.token() : t.token;
    } catch (err) {
      throw new HeraldError('token_error', `the token function failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (typeof token !== 'string' || token === '') throw new HeraldError('token_error', 'the token source gave no token');
    headers.set('Authorization', `Bearer ${token}`);
  }
  return headers;
}
