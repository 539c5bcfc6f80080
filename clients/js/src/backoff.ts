// Reconnect and retry delays: exponential back-off from a base, capped, with jitter; and a
// sleep that an AbortSignal ends early (so close() leaves no timer behind).

export interface BackoffOptions {
  /** The first delay when the hub sent no `retry:` (ms). Default 1000. */
  initialDelayMs?: number;
  /** The cap on any delay, the hub's `retry:` and `Retry-After` included (ms). Default 30000. */
  maxDelayMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /**
   * Fraction of each delay that is random: the wait is drawn from [d·(1−jitter), d].
   * Default 0.3. 0 waits exactly d.
   */
  jitter?: number;
}

export interface ResolvedBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  jitter: number;
}

export function resolveBackoff(options: BackoffOptions | undefined, defaults: ResolvedBackoff): ResolvedBackoff {
  const pick = (value: number | undefined, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new RangeError(`back-off option out of range: ${value} (expected ${min}..${max})`);
    }
    return value;
  };
  const maxDelayMs = pick(options?.maxDelayMs, defaults.maxDelayMs, 0, 24 * 3600_000);
  return {
    initialDelayMs: Math.min(pick(options?.initialDelayMs, defaults.initialDelayMs, 0, 24 * 3600_000), maxDelayMs),
    maxDelayMs,
    factor: pick(options?.factor, defaults.factor, 1, 100),
    jitter: pick(options?.jitter, defaults.jitter, 0, 1),
  };
}

/**
 * The wait before the next attempt after `failures` consecutive failed attempts (0: the first
 * retry), growing from `baseMs`; `random` is in [0, 1).
 */
export function backoffDelay(b: ResolvedBackoff, baseMs: number, failures: number, random: number = Math.random()): number {
  const grown = Math.min(b.maxDelayMs, baseMs * Math.pow(b.factor, Math.min(failures, 64)));
  return Math.round(grown * (1 - b.jitter * random));
}

/** Resolves after `ms`, or at once when `signal` aborts; clears its timer either way. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
