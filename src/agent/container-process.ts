// One process of a container: the spawned launcher, the real process behind it, its stdio relayed as
// events (with backpressure), and its exit status.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { AgentError, PROTOCOL_VERSION } from '../protocol/index.js';
import { findChildPid, type Command } from './container-launcher.js';
import type { EventSink } from './event-sink.js';

/** Output is sent in pieces of at most this size (base64 grows it by a third; lines stay far under 1 MiB). */
const MAX_OUTPUT_PIECE = 48 * 1024;
/** After the process exits, how long to wait for its output pipes to close (a leftover child may hold them). */
const STDIO_GRACE_MS = 1000;

export interface ExitStatus {
  readonly exitCode: number;
  readonly signal?: string;
}

export function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): ExitStatus {
  if (signal) return { exitCode: Math.min(255, 128 + (constants.signals[signal] ?? 0)), signal };
  return { exitCode: code ?? 255 };
}

export function signalNumber(signal: string | number): number {
  if (typeof signal === 'number') return signal;
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  if (n === undefined) throw new AgentError('INVALID_ARGUMENT', `unknown signal "${signal}"`);
  return n;
}

export class ContainerProcess {
  private readonly child: ChildProcess;
  private running = true;
  private stdinOpen = true;
  /** The container process itself (the launcher's child); the launcher's pid until it is known. */
  pid: number;
  readonly exited: Promise<ExitStatus>;

  /** With a terminal: the process whose stdin is the pty (the launcher, which outlives the container process). */
  private ttyHolder: number | undefined;

  constructor(
    readonly containerId: string,
    readonly execId: string,
    private readonly command: Command,
    private readonly events: EventSink,
    private readonly log: Logger,
  ) {
    this.child = spawn(command.file, command.args, { env: command.env, stdio: ['pipe', 'pipe', 'pipe', ...(command.fds ?? [])] });
    this.pid = this.child.pid ?? 0;
    this.child.stdin?.on('error', (e) => this.log.debug({ err: e }, 'stdin closed by the process'));
    this.relay(this.child.stdout, 'stdout');
    this.relay(this.child.stderr, 'stderr');
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.child.once('error', (e) => {
        this.running = false;
        this.log.error({ err: e }, 'cannot start the container launcher');
        resolve({ exitCode: 127 });
      });
      this.child.once('exit', (code, signal) => {
        this.running = false;
        const status = exitStatusOf(code, signal);
        void this.afterStdio().then(() => {
          this.events.emit({ v: PROTOCOL_VERSION, event: 'exit', containerId, execId, ...status });
          resolve(status);
        });
      });
    });
  }

  /** The container process's pid once it is known (undefined while only the launcher's is). */
  realPid: number | undefined;

  /** Resolves once the real process's pid is known (or the launcher is gone). */
  async started(): Promise<number> {
    if (this.pid === 0) throw new AgentError('FAILED_PRECONDITION', `cannot start process ${this.execId}: the launcher could not be run (is busybox installed?)`);
    const real = await findChildPid(this.pid, () => this.running, undefined, this.command.depth);
    if (real !== undefined) {
      this.pid = real.pid;
      this.realPid = real.pid;
      if (this.command.terminal) this.ttyHolder = real.parent;
    } else if (this.command.terminal && this.running) {
      // Behind script, its pid is not the process's: signals would miss it.
      throw new AgentError('INTERNAL', `cannot find process ${this.execId} behind its terminal`);
    }
    return this.pid;
  }

  /** The pty of a process with a terminal, as a path any process of the agent's can open (/proc/<pid>/fd/0). */
  get terminal(): string | undefined {
    return this.ttyHolder !== undefined && this.running ? `/proc/${this.ttyHolder}/fd/0` : undefined;
  }

  /** Waits until the process's root directory is `root` (the launcher has chrooted); false if it never is. */
  async rootIs(root: string, waitMs: number): Promise<boolean> {
    const deadline = performance.now() + waitMs;
    while (this.running && this.realPid !== undefined && performance.now() < deadline) {
      if ((await readlink(`/proc/${this.realPid}/root`).catch(() => '')) === root) return true;
      await sleep(2);
    }
    return false;
  }

  get isRunning(): boolean {
    return this.running;
  }

  signal(signal: string | number): void {
    if (!this.running) throw new AgentError('FAILED_PRECONDITION', `process ${this.execId} of container ${this.containerId} has exited`);
    try {
      process.kill(this.pid, signalNumber(signal));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') {
        throw new AgentError('FAILED_PRECONDITION', `process ${this.execId} of container ${this.containerId} has exited`);
      }
      throw e;
    }
  }

  /** Kills the launcher too: used when the container is deleted by force. */
  kill(): void {
    for (const pid of new Set([this.pid, this.child.pid ?? 0])) {
      if (pid > 0 && this.running) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }

  async writeStdin(data: Buffer): Promise<number> {
    const stdin = this.child.stdin;
    if (!this.stdinOpen || !stdin || !this.running) {
      throw new AgentError('FAILED_PRECONDITION', `stdin of process ${this.execId} is closed`);
    }
    await new Promise<void>((resolve, reject) =>
      stdin.write(data, (e) => (e ? reject(new AgentError('FAILED_PRECONDITION', `stdin of ${this.execId}: ${e.message}`)) : resolve())),
    );
    return data.length;
  }

  closeStdin(): void {
    this.stdinOpen = false;
    this.child.stdin?.end();
  }

  private relay(stream: Readable | null, event: 'stdout' | 'stderr'): void {
    if (!stream) return;
    stream.on('data', (chunk: Buffer) => {
      let ok = true;
      for (let i = 0; i < chunk.length; i += MAX_OUTPUT_PIECE) {
        const data = chunk.subarray(i, i + MAX_OUTPUT_PIECE).toString('base64');
        ok = this.events.emit({ v: PROTOCOL_VERSION, event, containerId: this.containerId, execId: this.execId, data }) && ok;
      }
      if (!ok) {
        stream.pause();
        void this.events.drained().then(() => stream.resume());
      }
    });
  }

  private async afterStdio(): Promise<void> {
    const streams = [this.child.stdout, this.child.stderr].filter((s): s is Readable => s !== null);
    const closed = Promise.all(streams.map((s) => (s.closed ? Promise.resolve() : new Promise((r) => s.once('close', r)))));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STDIO_GRACE_MS)));
    if ((await Promise.race([closed, grace])) === 'late') {
      this.log.warn('output pipes still open after the process exited (a child of it holds them); closing them');
      for (const s of streams) s.destroy();
    }
    clearTimeout(timer);
  }
}
