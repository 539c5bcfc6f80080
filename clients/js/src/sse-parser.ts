// An incremental parser of the `text/event-stream` format (WHATWG HTML, "Server-sent events",
// §9.2.6), sans I/O: feed it decoded text in chunks of any size, get whole events back.
//
// One deliberate difference from the standard: an `id:` field becomes the stream's position
// only when its event block is complete (the blank line), not when the line is read. A
// connection cut in the middle of a block then resumes before that block's event, never after
// an event the application did not see. (Herald ends streams on whole frames anyway.)

/** One dispatched event block. */
export interface SseMessage {
  /** The `event:` field, or `"message"` when the block had none. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The stream's last event id after this block (this block's `id:`, else the previous one). */
  id: string | undefined;
}

/** What one chunk of text produced. */
export interface SseFeedResult {
  messages: SseMessage[];
  /** A valid `retry:` field (milliseconds), the last one in the chunk. */
  retryMs: number | undefined;
  /** Id-only blocks (an `id:` and no `data:`) moved the position without an event. */
  lastEventId: string | undefined;
}

export class SseParser {
  #buffer = '';
  #sawCr = false; // the previous chunk ended with CR: a following LF belongs to it
  #data: string[] = [];
  #hasData = false;
  #event = '';
  #pendingId: string | undefined; // the block's `id:`, not yet committed
  #blockHasId = false;
  #lastEventId: string | undefined;
  #bomChecked = false;

  constructor(lastEventId?: string) {
    this.#lastEventId = lastEventId;
  }

  /** The committed position: the id of the last complete block that carried one. */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** Forgets a partial block (a new connection starts a new stream). Keeps the position. */
  reset(): void {
    this.#buffer = '';
    this.#sawCr = false;
    this.#bomChecked = false;
    this.#clearBlock();
  }

  feed(text: string): SseFeedResult {
    const result: SseFeedResult = { messages: [], retryMs: undefined, lastEventId: this.#lastEventId };
    if (text === '') return result;
    if (!this.#bomChecked && text.length > 0) {
      this.#bomChecked = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.#sawCr && text.startsWith('\n')) text = text.slice(1);
    this.#sawCr = false;
    // What is left of the buffer is a partial line without CR or LF: search only the new text.
    const searchFrom = this.#buffer.length;
    this.#buffer += text;
    let start = 0;
    // Next CR and LF at or after `start` (-1: none left); each is searched again only once
    // `start` has passed it, so a chunk is scanned in linear time.
    let cr = this.#buffer.indexOf('\r', searchFrom);
    let lf = this.#buffer.indexOf('\n', searchFrom);
    for (;;) {
      if (cr !== -1 && cr < start) cr = this.#buffer.indexOf('\r', start);
      if (lf !== -1 && lf < start) lf = this.#buffer.indexOf('\n', start);
      if (cr === -1 && lf === -1) break;
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 === this.#buffer.length) {
          // A CR at the very end: the line ends here, and an LF in the next chunk is part of it.
          next = cr + 1;
          this.#sawCr = true;
        } else {
          next = this.#buffer.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
        }
      } else {
        end = lf;
        next = lf + 1;
      }
      this.#line(this.#buffer.slice(start, end), result);
      start = next;
    }
    this.#buffer = this.#buffer.slice(start);
    result.lastEventId = this.#lastEventId;
    return result;
  }

  #line(line: string, result: SseFeedResult): void {
    if (line === '') {
      this.#dispatch(result);
      return;
    }
    if (line.startsWith(':')) return; // a comment (keep-alives use them)
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    switch (field) {
      case 'data':
        this.#data.push(value);
        this.#hasData = true;
        break;
      case 'event':
        this.#event = value;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.#pendingId = value;
          this.#blockHasId = true;
        }
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) result.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  #dispatch(result: SseFeedResult): void {
    if (this.#blockHasId) this.#lastEventId = this.#pendingId === '' ? undefined : this.#pendingId;
    if (this.#hasData) {
      result.messages.push({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#lastEventId });
    }
    this.#clearBlock();
  }

  #clearBlock(): void {
    this.#data = [];
    this.#hasData = false;
    this.#event = '';
    this.#pendingId = undefined;
    this.#blockHasId = false;
  }
}
