// One peer on a byte stream (the virtio-serial port, or a unix-socket client in tests): decodes lines,
// dispatches each request concurrently, and writes responses and events as lines.
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { AgentError, LineDecoder, PROTOCOL_VERSION, encodeLine, recoverRequestId } from '../protocol/index.js';
import type { Dispatch } from './dispatcher.js';

export class Connection {
  private readonly decoder = new LineDecoder();
  private open = true;

  constructor(
    private readonly stream: Duplex,
    dispatch: Dispatch,
    private readonly log: Logger,
    onClose: (c: Connection) => void,
  ) {
    stream.on('data', (chunk: Buffer) => {
      for (const frame of this.decoder.push(chunk)) {
        void dispatch(frame).then(
          (response) => this.send(response),
          (e: unknown) => {
            // The dispatcher answers every failure itself; this is a last resort.
            this.log.error({ err: e }, 'dispatch failed');
            const id = frame.kind === 'line' ? recoverRequestId(frame.text) : null;
            this.send({ v: PROTOCOL_VERSION, id, ok: false, error: { code: 'INTERNAL', message: String(e) } });
          },
        );
      }
    });
    stream.on('error', (e) => this.log.warn({ err: e }, 'connection error'));
    stream.on('close', () => {
      this.open = false;
      onClose(this);
    });
  }

  /** Writes one message; false when the stream's buffer is full (wait for `drained`). */
  send(message: unknown): boolean {
    if (!this.open || this.stream.destroyed || this.stream.writableEnded) return true;
    let line: Buffer;
    try {
      line = encodeLine(message);
    } catch (e) {
      const id = typeof message === 'object' && message !== null && 'id' in message ? recoverRequestId(message) : null;
      this.log.error({ err: e, id }, 'cannot encode a message');
      if (id === null) return true;
      const err = new AgentError('INTERNAL', `the response does not fit on the channel: ${(e as Error).message}`);
      line = encodeLine({ v: PROTOCOL_VERSION, id, ok: false, error: { code: err.code, message: err.message } });
    }
    return this.stream.write(line);
  }

  drained(): Promise<void> {
    if (!this.open || !this.stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }

  /** Flushes what was written, then ends the stream. */
  end(): Promise<void> {
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => {
      this.stream.end(() => resolve());
    });
  }
}
