// A task's or an exec's stdio as containerd hands it over: FIFO paths its client made. Output FIFOs are
// opened read-write, as runc's shim keeps a read handle too: a write never fails for want of a reader and
// the open never blocks. Output nobody reads piles up to a limit and is then dropped, so a client that went
// away cannot make the shim grow without end. Stdin is read until every writer has closed it, so that the
// client closing its end is the process's EOF, as `ctr run` expects. Until the client shows up (its first
// byte, or its CloseIO) the shim holds a write end of its own, so that an empty FIFO is not taken for an
// ended one: a client that closes its end without writing anything ends stdin with CloseIO, as containerd's do.
import { closeSync, constants, createWriteStream, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { invalidArgument } from '../../common/errors.js';

/** Output held for a slow or absent reader before more is dropped. */
const MAX_BUFFERED = 4 << 20;
/** How long CloseIO waits for the client's end of stdin to close. */
const CLOSE_GRACE_MS = 2_000;

export interface IoPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** Where stdin goes: each piece in order (the next waits for the last), then its end. */
export interface StdinSink {
  data(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

/** `fifo:` or no scheme is a FIFO; `file://` (ctr --log-uri) a file to append to. Anything else is refused. */
function pathOf(uri: string, which: string): string | undefined {
  if (uri === '') return undefined;
  if (uri.startsWith('/')) return uri;
  if (uri.startsWith('fifo:')) return uri.slice('fifo:'.length).replace(/^\/\//, '');
  if (uri.startsWith('file://')) return uri.slice('file://'.length);
  throw invalidArgument(`${which} "${uri}": passvol's shim takes FIFOs and file:// paths, not other URIs`);
}

function openOutput(uri: string, which: string): Writable | undefined {
  const p = pathOf(uri, which);
  if (!p) return undefined;
  // Node must not read our own output back through the read handle: the socket is write-only.
  if (!uri.startsWith('file://')) return new Socket({ fd: openSync(p, constants.O_RDWR | constants.O_NONBLOCK), readable: false, writable: true });
  return createWriteStream('', { fd: openSync(p, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640) });
}

export class ProcessIo {
  private dropped = false;
  private closed = false;
  private stdin: Socket | undefined;
  /** Our own write end of the stdin FIFO, held until the client's shows up. */
  private keeper: number | undefined;
  private sink: StdinSink | undefined;
  private stdinEnded = false;
  /** The last piece of stdin on its way to the process. */
  private feeding: Promise<void> = Promise.resolve();
  /** CloseIO came: stdin ends at its EOF, or once nothing has come for CLOSE_GRACE_MS. */
  private closeRequested = false;
  private idleEnd: NodeJS.Timeout | undefined;

  private constructor(
    readonly paths: IoPaths,
    private readonly outputs: Partial<Record<'stdout' | 'stderr', Writable>>,
    private readonly onDrop: () => void,
  ) {
    for (const s of Object.values(outputs)) s.on('error', () => undefined);
  }

  /** Opens the outputs `paths` names; throws (and leaves nothing open) when one cannot be opened. */
  static open(paths: IoPaths, onDrop: () => void = () => undefined): ProcessIo {
    const opened: Writable[] = [];
    try {
      pathOf(paths.stdin, 'stdin');
      const outputs: Partial<Record<'stdout' | 'stderr', Writable>> = {};
      for (const s of ['stdout', 'stderr'] as const) {
        const out = openOutput(paths[s], s);
        if (out) opened.push((outputs[s] = out));
      }
      return new ProcessIo(paths, outputs, onDrop);
    } catch (e) {
      for (const s of opened) s.destroy();
      throw invalidArgument(`cannot open the process's stdio: ${(e as Error).message}`);
    }
  }

  get hasStdin(): boolean {
    return this.paths.stdin !== '';
  }

  /** Feeds stdin to `sink`, each piece once the one before it has reached the process; a no-op without stdin. */
  pipeStdin(sink: StdinSink): void {
    const path = pathOf(this.paths.stdin, 'stdin');
    if (!path || this.sink) return;
    this.sink = sink;
    if (this.stdinEnded || this.closed) {
      // CloseIO came before the process started.
      this.feeding = sink.end().catch(() => undefined);
      return;
    }
    let input: Socket;
    try {
      const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      this.keeper = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      input = new Socket({ fd, readable: true, writable: false });
    } catch {
      void this.endStdin();
      return;
    }
    this.stdin = input;
    input.on('error', () => void this.endStdin());
    input.on('end', () => void this.endStdin());
    input.on('data', (chunk: Buffer) => {
      // The client is here: from now on its end closing is the end of stdin.
      this.dropKeeper();
      if (this.closeRequested) clearTimeout(this.idleEnd);
      // One piece at a time: the guest's pipe sets the pace.
      input.pause();
      this.feeding = this.feeding.then(() => sink.data(chunk)).then(
        () => {
          input.resume();
          if (this.closeRequested) this.armIdleEnd();
        },
        () => void this.endStdin(),
      );
    });
  }

  write(stream: 'stdout' | 'stderr', data: Buffer): void {
    const out = this.outputs[stream];
    if (!out || out.destroyed) return;
    if (out.writableLength > MAX_BUFFERED) {
      if (!this.dropped) this.onDrop();
      this.dropped = true;
      return;
    }
    out.write(data);
  }

  /**
   * The client's CloseIO: it has written all it will. What it wrote may still sit in the FIFO, so stdin
   * reads on to its end, which comes once the client closes its end too. A client that keeps its end open
   * anyway is cut off once nothing has come for a moment. Returns at once: delivery goes on behind it.
   */
  closeStdin(): void {
    this.closeRequested = true;
    this.dropKeeper();
    if (!this.stdin || this.stdin.destroyed) void this.endStdin();
    else this.armIdleEnd();
  }

  private armIdleEnd(): void {
    clearTimeout(this.idleEnd);
    this.idleEnd = setTimeout(() => void this.endStdin(), CLOSE_GRACE_MS);
  }

  /** Ends stdin (every writer gone, or CloseIO): the process reads EOF once what came before has reached it. */
  async endStdin(): Promise<void> {
    if (this.stdinEnded) return this.feeding;
    this.stdinEnded = true;
    clearTimeout(this.idleEnd);
    this.stdin?.destroy();
    this.dropKeeper();
    const sink = this.sink;
    if (sink) await (this.feeding = this.feeding.then(() => sink.end()).catch(() => undefined));
  }

  /** Flushes what it can of the output, then closes everything. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stdinEnded = true;
    clearTimeout(this.idleEnd);
    this.stdin?.destroy();
    this.dropKeeper();
    for (const out of Object.values(this.outputs)) {
      // A FIFO nobody reads never drains: what it still holds is dropped after a moment.
      const timer = setTimeout(() => out.destroy(), CLOSE_GRACE_MS);
      out.end(() => {
        clearTimeout(timer);
        out.destroy();
      });
    }
  }

  private dropKeeper(): void {
    if (this.keeper === undefined) return;
    closeSync(this.keeper);
    this.keeper = undefined;
  }
}
