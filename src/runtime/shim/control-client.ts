// Talking to a sandbox shim over its control socket (see sandbox-shim.ts).
import { request } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import { PassvolError, isErrorCode } from '../../common/errors.js';
import { createInterface } from 'node:readline';
import { CONTROL_SOCKET, ContainersResponse, ErrorResponse, ExecChunk, ExecEnd, ExecStarted, StartResponse, type ExecRequest } from './control-api.js';

/** Bytes of stdin per request: base64 of it stays well under the shim's 64 KiB request limit. */
const STDIN_PIECE = 32 * 1024;
/** How long a piece of stdin may wait for the command to read: as long as an exec may run. */
const STDIN_WAIT_MS = 24 * 3600_000;

export class ShimClient {
  private readonly socket: string;

  constructor(sandboxDir: string, private readonly id: string) {
    this.socket = join(sandboxDir, CONTROL_SOCKET);
  }

  /** POSTs `body` as JSON; no body is a GET. */
  private call<T>(path: string, body: unknown, schema: z.ZodType<T>, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socket, method: body === undefined ? 'GET' : 'POST', path, headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            if (res.statusCode === 200) return resolve(schema.parse(JSON.parse(text)));
            reject(this.refusal(res.statusCode, text));
          } catch (e) {
            reject(new PassvolError('PV_ERR_INTERNAL', `shim of sandbox ${this.id} answered what is not understood: ${(e as Error).message}`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new PassvolError('PV_ERR_TIMEOUT', `the shim of sandbox ${this.id} did not answer within ${timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** The error a non-200 answer carries. */
  private refusal(status: number | undefined, text: string): PassvolError {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const err = ErrorResponse.safeParse(value);
    return err.success && isErrorCode(err.data.code) ? new PassvolError(err.data.code, err.data.message) : new PassvolError('PV_ERR_INTERNAL', `shim answered ${status}: ${text.slice(0, 200)}`);
  }

  private connectError(e: NodeJS.ErrnoException): PassvolError {
    if (e instanceof PassvolError) return e;
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `sandbox ${this.id} has no running shim (${this.socket}); \`passvol delete ${this.id}\` cleans up what is left`);
    return new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `shim of sandbox ${this.id}: ${e.message}`);
  }

  /** Starts the sandbox's own container, or `container`, one added to it. */
  start(container?: string): Promise<{ pid: number }> {
    return this.call('/start', container ? { container } : {}, StartResponse, 60_000);
  }

  kill(signal: string, container?: string, all = false): Promise<void> {
    return this.call('/kill', { signal, ...(container ? { container } : {}), ...(all ? { all } : {}) }, z.object({}).passthrough(), 30_000).then(() => undefined);
  }

  /** Adds a container (a pod's other) made from `bundle` to the running sandbox. */
  addContainer(id: string, bundle: string): Promise<void> {
    // Its shares are hot-plugged and its volumes attached: as long as a sandbox's own create, less the boot.
    return this.call('/containers', { id, bundle }, z.object({}).passthrough(), 600_000).then(() => undefined);
  }

  removeContainer(id: string): Promise<void> {
    return this.call('/containers/delete', { id }, z.object({}).passthrough(), 600_000).then(() => undefined);
  }

  containers(timeoutMs = 30_000): Promise<z.infer<typeof ContainersResponse>['containers']> {
    return this.call('/containers', undefined, ContainersResponse, timeoutMs).then((r) => r.containers);
  }

  /**
   * Runs a command and hands its output to `onOutput` as it comes; resolves with its exit code. With
   * `stdin`, what it yields is fed to the command's stdin, and its end closes it.
   */
  execStream(
    exec: ExecRequest,
    onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void,
    stdin?: AsyncIterable<Buffer | string>,
    /** Told the exec's id once it runs (a terminal's, for resize()). */
    onStarted?: (execId: string) => void,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socket, method: 'POST', path: '/exec', headers: { 'content-type': 'application/json' } }, (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => reject(this.refusal(res.statusCode, text)));
          return;
        }
        let exit: z.infer<typeof ExecEnd> | undefined;
        const lines = createInterface({ input: res });
        // The shim gone mid-stream: the connection resets, which is ours to report, not an unhandled error.
        res.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
        lines.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
        lines.on('line', (l) => {
          try {
            const v: unknown = JSON.parse(l);
            const chunk = ExecChunk.safeParse(v);
            const started = ExecStarted.safeParse(v);
            if (chunk.success) onOutput(chunk.data.stream, Buffer.from(chunk.data.data, 'base64'));
            else if (started.success) {
              onStarted?.(started.data.started);
              if (stdin) void this.feed(started.data.started, exec.container, stdin, () => exit !== undefined);
            }
            else exit = ExecEnd.parse(v);
          } catch (e) {
            lines.close();
            res.destroy();
            reject(new PassvolError('PV_ERR_INTERNAL', `shim of sandbox ${this.id} streamed what is not understood: ${(e as Error).message}`));
          }
        });
        lines.on('close', () => {
          if (!exit) return reject(new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `shim of sandbox ${this.id} ended the exec's output without its exit code (did the shim stop?)`));
          if ('error' in exit) return reject(new PassvolError(isErrorCode(exit.error.code) ? exit.error.code : 'PV_ERR_INTERNAL', exit.error.message));
          resolve(exit.exitCode);
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      req.end(JSON.stringify({ ...exec, stdin: stdin !== undefined }));
    });
  }

  /** Feeds an exec's stdin in pieces the shim accepts, then closes it; stops once the exec has ended. */
  private async feed(execId: string, container: string | undefined, stdin: AsyncIterable<Buffer | string>, ended: () => boolean): Promise<void> {
    // A command that reads its stdin late keeps its pipe full: a write may wait on it that long.
    const send = (body: Record<string, unknown>) => this.call('/stdin', { execId, ...(container ? { container } : {}), ...body }, z.object({}).passthrough(), STDIN_WAIT_MS);
    try {
      for await (const chunk of stdin) {
        const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        for (let at = 0; at < data.length && !ended(); at += STDIN_PIECE) await send({ data: data.subarray(at, at + STDIN_PIECE).toString('base64') });
        if (ended()) return;
      }
      await send({ eof: true });
    } catch {
      // The command has ended (or the shim has gone): what was left of stdin has nobody to read it.
    }
  }

  /** A terminal exec's new size. */
  resize(execId: string, rows: number, cols: number, container?: string): Promise<void> {
    return this.call('/resize', { execId, rows, cols, ...(container ? { container } : {}) }, z.object({}).passthrough(), 10_000).then(() => undefined);
  }

  delete(): Promise<void> {
    // Longer than the worst teardown: delete the container (30 s), detach each volume, sync (60 s), stop QEMU.
    return this.call('/delete', {}, z.object({}).passthrough(), 600_000).then(() => undefined);
  }
}
