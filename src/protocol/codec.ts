// Line framing for the agent channel: newline-delimited JSON, one message per line, at most MAX_LINE_BYTES
// bytes per line (the '\n' not counted). The decoder works on bytes, so a multi-byte UTF-8 character split
// across two chunks is put back together, and a line longer than the limit is dropped as a whole (its
// first bytes are kept so the receiver can still answer the request id).

export const MAX_LINE_BYTES = 1024 * 1024;
/** How much of an oversize line is kept for `OversizeLine.head`. */
export const OVERSIZE_HEAD_BYTES = 256;

const NEWLINE = 0x0a;

export interface Line {
  readonly kind: 'line';
  readonly text: string;
}

export interface OversizeLine {
  readonly kind: 'oversize';
  /** Bytes of the line that was dropped, up to the newline that ended it. */
  readonly bytes: number;
  /** The line's first bytes (decoded leniently), for recovering the id of a request. */
  readonly head: string;
}

export type Frame = Line | OversizeLine;

export class LineDecoder {
  private parts: Buffer[] = [];
  private buffered = 0;
  /** While > 0 we are skipping the rest of an oversize line; counts the bytes skipped so far. */
  private skipping = 0;
  private skippedHead = '';
  private readonly maxLineBytes: number;

  constructor(options: { maxLineBytes?: number } = {}) {
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  }

  /** Feeds a chunk; returns the frames it completed, in order. */
  push(chunk: Buffer | string): Frame[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const frames: Frame[] = [];
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(NEWLINE, start);
      const end = nl === -1 ? buf.length : nl;
      this.take(buf.subarray(start, end));
      if (nl === -1) break;
      frames.push(this.finishLine());
      start = nl + 1;
    }
    return frames;
  }

  /** Bytes held for an unfinished line (0 while skipping an oversize one). */
  get pendingBytes(): number {
    return this.buffered;
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skipping > 0) {
      this.skipping += piece.length;
      return;
    }
    if (this.buffered + piece.length > this.maxLineBytes) {
      const all = Buffer.concat([...this.parts, piece]);
      this.skippedHead = all.subarray(0, OVERSIZE_HEAD_BYTES).toString('utf8');
      this.skipping = all.length;
      this.parts = [];
      this.buffered = 0;
      return;
    }
    // Copy: the caller may reuse its chunk buffer.
    this.parts.push(Buffer.from(piece));
    this.buffered += piece.length;
  }

  private finishLine(): Frame {
    if (this.skipping > 0) {
      const frame: OversizeLine = { kind: 'oversize', bytes: this.skipping, head: this.skippedHead };
      this.skipping = 0;
      this.skippedHead = '';
      return frame;
    }
    const text = Buffer.concat(this.parts, this.buffered).toString('utf8');
    this.parts = [];
    this.buffered = 0;
    return { kind: 'line', text };
  }
}

export class MessageTooLargeError extends RangeError {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`encoded message is ${bytes} bytes; the channel carries at most ${limit} bytes per line`);
    this.name = 'MessageTooLargeError';
  }
}

/** Encodes one message as a line ('\n' included). JSON.stringify escapes newlines inside strings. */
export function encodeLine(message: unknown, options: { maxLineBytes?: number } = {}): Buffer {
  const text = JSON.stringify(message);
  if (text === undefined) throw new TypeError('message is not JSON-serialisable');
  const body = Buffer.from(text, 'utf8');
  const limit = options.maxLineBytes ?? MAX_LINE_BYTES;
  if (body.length > limit) throw new MessageTooLargeError(body.length, limit);
  return Buffer.concat([body, Buffer.from('\n')]);
}
