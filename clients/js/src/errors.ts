// The one error type of the client: the hub's error answer (SPEC §1.5), or what went wrong
// before there was one (network, timeout, a body that is not the hub's).
import type { ErrorBody, ErrorCode } from './types.js';

/** Codes the client itself uses when the hub gave no error body. */
export type ClientErrorCode =
  | 'network_error' // fetch failed or the body's read failed
  | 'heartbeat_timeout' // nothing arrived on a stream for the watchdog's time
  | 'bad_response' // an answer that is not what the route answers (not JSON, not an event stream)
  | 'token_error' // the token function threw or gave no token
  | 'aborted'; // the caller's AbortSignal

export class HeraldError extends Error {
  override readonly name = 'HeraldError';
  /** HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  /** The hub's `code` (SPEC §1.5), or one of ClientErrorCode. */
  readonly code: ErrorCode | ClientErrorCode;
  /** The hub's `timestamp`, when it answered with its error shape. */
  readonly timestamp: string | undefined;
  /** The field a `422` names. */
  readonly field: string | undefined;
  /** `Retry-After` of a `429`/`503`, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** The answer's `X-Request-Id` (the hub's log lines carry it). */
  readonly requestId: string | undefined;
  /** The parsed error body, when there was one. */
  readonly body: unknown;

  constructor(
    code: ErrorCode | ClientErrorCode,
    message: string,
    init: {
      status?: number;
      timestamp?: string;
      field?: string;
      retryAfterMs?: number;
      requestId?: string;
      body?: unknown;
      cause?: unknown;
    } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.status = init.status ?? 0;
    this.timestamp = init.timestamp;
    this.field = init.field;
    this.retryAfterMs = init.retryAfterMs;
    this.requestId = init.requestId;
    this.body = init.body;
  }
}

/** `Retry-After` (delta-seconds or an HTTP date) in milliseconds, or undefined. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** A HeraldError from a non-2xx answer; reads (and so consumes) its body. */
export async function errorFromResponse(res: Response): Promise<HeraldError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // the body could not be read: the status says enough
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const init = {
    status: res.status,
    retryAfterMs: parseRetryAfter(res.headers.get('Retry-After')),
    requestId: res.headers.get('X-Request-Id') ?? undefined,
    body: body ?? (text === '' ? undefined : text),
  };
  if (isErrorBody(body)) {
    return new HeraldError(body.code, body.message, {
      ...init,
      timestamp: typeof body.timestamp === 'string' ? body.timestamp : undefined,
      field: typeof body.field === 'string' ? body.field : undefined,
    });
  }
  return new HeraldError(codeForStatus(res.status), `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, init);
}

/** SPEC §1.5's code for a status, for answers without the hub's error body (e.g. a proxy's). */
function codeForStatus(status: number): ErrorCode | ClientErrorCode {
  switch (status) {
    case 400: return 'bad_request';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 405: return 'method_not_allowed';
    case 409: return 'conflict';
    case 413: return 'payload_too_large';
    case 415: return 'unsupported_media_type';
    case 422: return 'validation_error';
    case 429: return 'rate_limited';
    case 503: return 'service_unavailable';
    default: return status >= 500 ? 'internal_error' : 'bad_response';
  }
}

/** Wraps what `fetch` or a body read threw (TypeError, AbortError, …). */
export function networkError(err: unknown, what: string): HeraldError {
  if (err instanceof HeraldError) return err;
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new HeraldError('network_error', `${what}: ${detail}`, { cause: err });
}
