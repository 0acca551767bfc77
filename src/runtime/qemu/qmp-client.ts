// A QMP client on QEMU's unix socket: reads the greeting, negotiates capabilities, then matches replies
// to requests by id (each with a timeout) and hands events to waiters and listeners. Every line from
// QEMU is parsed with zod; a reply that fits no shape closes nothing but is logged and dropped.
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PassvolError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { QmpChannel } from '../hypervisor.js';

const Greeting = z.object({
  QMP: z.object({
    version: z.object({ qemu: z.object({ major: z.number(), minor: z.number(), micro: z.number() }), package: z.string().optional() }),
    capabilities: z.array(z.unknown()),
  }),
});
const Success = z.object({ return: z.unknown(), id: z.number().optional() });
const Failure = z.object({ error: z.object({ class: z.string(), desc: z.string() }), id: z.number().optional() });
const Event = z.object({
  event: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  timestamp: z.object({ seconds: z.number(), microseconds: z.number() }).optional(),
});
export type QmpEvent = z.infer<typeof Event>;
export type QmpVersion = z.infer<typeof Greeting>['QMP']['version']['qemu'];

/** QMP answered with an error: `qmpClass` is QEMU's error class (GenericError, DeviceNotFound, ...). */
export class QmpError extends PassvolError {
  constructor(
    readonly command: string,
    readonly qmpClass: string,
    readonly desc: string,
  ) {
    super('PV_ERR_EXTERNAL_COMMAND', `QMP ${command} failed: ${desc} (${qmpClass})`);
  }
}

export type QmpMessage =
  | { kind: 'greeting'; version: QmpVersion }
  | { kind: 'return'; id?: number; value: unknown }
  | { kind: 'error'; id?: number; class: string; desc: string }
  | { kind: 'event'; event: QmpEvent }
  | { kind: 'unknown'; line: string };

/** Parses one line from QEMU. */
export function parseQmpLine(line: string): QmpMessage {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { kind: 'unknown', line };
  }
  const greeting = Greeting.safeParse(json);
  if (greeting.success) return { kind: 'greeting', version: greeting.data.QMP.version.qemu };
  const event = Event.safeParse(json);
  if (event.success) return { kind: 'event', event: event.data };
  const failure = Failure.safeParse(json);
  if (failure.success) return { kind: 'error', id: failure.data.id, class: failure.data.error.class, desc: failure.data.error.desc };
  const ok = Success.safeParse(json);
  if (ok.success && 'return' in (json as object)) return { kind: 'return', id: ok.data.id, value: ok.data.return };
  return { kind: 'unknown', line };
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface QmpConnectOptions {
  timeoutMs?: number;
  log: Logger;
  /** Stop retrying early when this says QEMU is gone. */
  alive?: () => boolean;
}

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> implements QmpChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffered = '';
  private closed = false;
  version: QmpVersion | undefined;
  private greeted: ((v: QmpVersion) => void) | undefined;
  private readonly greetingReceived = new Promise<QmpVersion>((resolve) => (this.greeted = resolve));

  private constructor(
    private readonly socket: Socket,
    private readonly log: Logger,
  ) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.onClose());
    socket.on('error', (e) => this.log.debug({ err: e.message }, 'qmp socket error'));
  }

  /** Connects (retrying while QEMU creates the socket), reads the greeting and leaves negotiation mode. */
  static async connect(path: string, o: QmpConnectOptions): Promise<QmpClient> {
    const timeoutMs = o.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let socket: Socket | undefined;
    let lastError: unknown;
    while (!socket) {
      try {
        socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
      } catch (e) {
        lastError = e;
        if (Date.now() > deadline || (o.alive && !o.alive())) {
          throw new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `QMP socket ${path} did not accept a connection: ${(lastError as Error).message}`);
        }
        await sleep(20);
      }
    }
    const client = new QmpClient(socket, o.log);
    client.version = await client.greeting(Math.max(1000, deadline - Date.now()));
    await client.execute('qmp_capabilities', undefined, { timeoutMs: Math.max(1000, deadline - Date.now()) });
    return client;
  }

  private async greeting(timeoutMs: number): Promise<QmpVersion> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PassvolError('PV_ERR_TIMEOUT', `QEMU sent no QMP greeting within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.greetingReceived, timeout]);
    } catch (e) {
      this.socket.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  execute(command: string, args?: Record<string, unknown>, options: { timeoutMs?: number } = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `QMP ${command}: the connection to QEMU is closed`));
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PassvolError('PV_ERR_TIMEOUT', `QMP ${command} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve, reject, timer });
      this.log.debug({ command, args, id }, 'qmp request');
      this.socket.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  waitForEvent(name: string, match: (data: Record<string, unknown>) => boolean, timeoutMs: number): { promise: Promise<Record<string, unknown>>; cancel(): void } {
    let cancel = (): void => undefined;
    const promise = new Promise<Record<string, unknown>>((resolve, reject) => {
      const onEvent = (e: QmpEvent): void => {
        if (e.event !== name || !match(e.data ?? {})) return;
        done();
        resolve(e.data ?? {});
      };
      const onClose = (): void => {
        done();
        reject(new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `QEMU closed QMP while waiting for ${name}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new PassvolError('PV_ERR_TIMEOUT', `no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      cancel = done;
      this.on('event', onEvent);
      this.on('close', onClose);
    });
    return { promise, cancel: () => cancel() };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    const m = parseQmpLine(line);
    switch (m.kind) {
      case 'event':
        this.log.debug({ event: m.event.event, data: m.event.data }, 'qmp event');
        this.emit('event', m.event);
        return;
      case 'return':
      case 'error': {
        const p = m.id === undefined ? undefined : this.pending.get(m.id);
        if (!p || m.id === undefined) {
          this.log.debug({ line }, 'qmp reply for no pending request');
          return;
        }
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.kind === 'return') p.resolve(m.value);
        else p.reject(new QmpError(p.command, m.class, m.desc));
        return;
      }
      case 'greeting':
        this.greeted?.(m.version);
        return;
      case 'unknown':
        this.log.warn({ line: line.slice(0, 200) }, 'unparseable QMP line dropped');
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `QEMU closed QMP before answering ${p.command}`));
      this.pending.delete(id);
    }
    this.emit('close');
  }
}
