// Runs the real agent on this host as root: `--socket` instead of the virtio-serial port, `--root` so every
// guest path lands in a scratch directory, and a fake /sys/block + /dev pair (see src/agent/block-devices.ts)
// whose vdX entries point at real loop devices. The client speaks the protocol with the shared codec.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  LineDecoder,
  decodeAgentMessage,
  encodeLine,
  parseResult,
  makeRequest,
  type AgentEvent,
  type ErrorBody,
  type OpArgsInput,
  type OpName,
  type OpResult,
  type ResponseEnvelope,
} from '../../../src/protocol/index.js';
import { undoMountsAndLoops } from '../../helpers/host-cleanup.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const AGENT_MAIN = join(REPO, 'src/agent/main.ts');

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const BUSYBOX = which('busybox');
export const needsRoot = process.getuid?.() !== 0 ? 'needs root: the agent mounts, binds and chroots' : false;
export const needsBusybox = BUSYBOX ? false : 'needs busybox (Debian package busybox-static) for the container launcher and rootfs';

export class AgentRequestError extends Error {
  constructor(
    readonly op: string,
    readonly code: string,
    message: string,
  ) {
    super(`${op}: ${code}: ${message}`);
  }
}

export class AgentClient {
  private readonly decoder = new LineDecoder();
  private readonly pending = new Map<number, (r: ResponseEnvelope) => void>();
  /** Responses whose id was unreadable (id null), in arrival order. */
  readonly anonymous: ResponseEnvelope[] = [];
  readonly events: AgentEvent[] = [];
  private readonly eventWaiters = new Set<() => void>();
  private nextId = 1;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.decoder.push(chunk)) {
        if (frame.kind !== 'line') throw new Error('agent sent an oversize line');
        const msg = decodeAgentMessage(frame.text);
        if (msg.kind === 'event') {
          this.events.push(msg.event);
          for (const w of this.eventWaiters) w();
        } else if (msg.response.id === null) {
          this.anonymous.push(msg.response);
          for (const w of this.eventWaiters) w();
        } else {
          this.pending.get(msg.response.id)?.(msg.response);
          this.pending.delete(msg.response.id);
        }
      }
    });
  }

  static async connect(path: string, timeoutMs = 15_000): Promise<AgentClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((res, rej) => {
          const s = connect(path, () => res(s));
          s.once('error', rej);
        });
        return new AgentClient(socket);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(20);
      }
    }
  }

  /** Sends a typed request; resolves with the validated result or rejects with AgentRequestError. */
  async request<O extends OpName>(op: O, args: OpArgsInput<O>): Promise<OpResult<O>> {
    const id = this.nextId++;
    const response = await this.raw(encodeLine(makeRequest(id, op, args)), id);
    if (!response.ok) throw new AgentRequestError(op, response.error.code, response.error.message);
    return parseResult(op, response.result);
  }

  /** The error of a request expected to fail. */
  async failure<O extends OpName>(op: O, args: OpArgsInput<O>): Promise<ErrorBody> {
    try {
      await this.request(op, args);
    } catch (e) {
      if (e instanceof AgentRequestError) return { code: e.code as ErrorBody['code'], message: e.message };
      throw e;
    }
    throw new Error(`${op} succeeded but was expected to fail`);
  }

  /** Writes raw bytes; with an id, resolves with that id's response. */
  raw(bytes: Buffer | string, id?: number): Promise<ResponseEnvelope> {
    return new Promise((resolve, reject) => {
      if (id !== undefined) this.pending.set(id, resolve);
      this.socket.write(bytes, (e) => (e ? reject(e) : id === undefined && resolve(undefined as never)));
    });
  }

  allocateId(): number {
    return this.nextId++;
  }

  async waitFor<T>(pick: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = pick();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error('timed out waiting for an event');
      await new Promise<void>((r) => {
        const done = (): void => {
          this.eventWaiters.delete(done);
          clearTimeout(t);
          r();
        };
        const t = setTimeout(done, 50);
        this.eventWaiters.add(done);
      });
    }
  }

  output(containerId: string, execId: string, stream: 'stdout' | 'stderr' = 'stdout'): string {
    return Buffer.concat(
      this.events
        .filter((e) => e.event === stream && e.containerId === containerId && e.execId === execId)
        .map((e) => Buffer.from((e as { data: string }).data, 'base64')),
    ).toString();
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface AgentUnderTest {
  readonly scratch: string;
  /** The guest's "/" on this host. */
  readonly root: string;
  readonly sysBlock: string;
  readonly devDir: string;
  readonly socket: string;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly client: AgentClient;
  /** Milliseconds from spawn to the first successful connect. */
  readonly startMs: number;
  stop(): Promise<void>;
}

/** Starts the agent (from source with tsx, a bundle given as `entry`, or a startup snapshot given as `snapshot`). */
export async function startAgent(options: { entry?: string; snapshot?: string; extraArgs?: string[] } = {}): Promise<AgentUnderTest> {
  const scratch = await mkdtemp(join(tmpdir(), 'pv-agent-'));
  const root = join(scratch, 'root');
  const sysBlock = join(scratch, 'sys/block');
  const devDir = join(scratch, 'dev');
  await mkdir(join(root, 'run/passvol'), { recursive: true });
  await mkdir(sysBlock, { recursive: true });
  await mkdir(devDir);
  const socket = join(scratch, 'agent.sock');
  const entry = options.entry ?? AGENT_MAIN;
  const nodeArgs = options.snapshot ? ['--snapshot-blob', options.snapshot, '--'] : entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--socket', socket, '--root', root, '--sys-block', sysBlock, '--dev-dir', devDir, '--device-wait-ms', '3000', ...(options.extraArgs ?? [])],
    // A snapshot runs as the guest runs it: with no NODE_OPTIONS (a test runner's loader among them).
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: REPO, env: options.snapshot ? { ...process.env, NODE_OPTIONS: '' } : process.env },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = await AgentClient.connect(socket);
  const startMs = performance.now() - started;
  await client.request('ping', {});
  return {
    scratch,
    root,
    sysBlock,
    devDir,
    socket,
    child,
    stderr: () => stderr,
    client,
    startMs,
    async stop() {
      client.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      undoMountsAndLoops(scratch);
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

export interface LoopDisk {
  readonly image: string;
  readonly loop: string;
  /** The fake virtio name, e.g. vdb. */
  readonly name: string;
  readonly serial: string;
}

/** A sparse image on a loop device, formatted, and (unless `plugged: false`) visible as a fake virtio disk. */
export async function makeLoopDisk(
  agent: AgentUnderTest,
  options: { name: string; serial: string; sizeMiB: number; fstype?: 'ext4' | 'xfs'; plugged?: boolean },
): Promise<LoopDisk> {
  const image = join(agent.scratch, `${options.name}.img`);
  execFileSync('truncate', ['-s', `${options.sizeMiB}M`, image]);
  const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  if (options.fstype === 'ext4') execFileSync('mkfs.ext4', ['-q', '-F', loop]);
  if (options.fstype === 'xfs') execFileSync('mkfs.xfs', ['-q', '-f', loop]);
  const disk = { image, loop, name: options.name, serial: options.serial };
  if (options.plugged !== false) await plugDisk(agent, disk);
  return disk;
}

/** What the guest kernel does on hotplug: /sys/block/vdX/{serial,dev,size} and /dev/vdX. */
export async function plugDisk(agent: AgentUnderTest, disk: LoopDisk): Promise<void> {
  const loopName = disk.loop.replace('/dev/', '');
  const dir = join(agent.sysBlock, disk.name);
  await mkdir(dir);
  await writeFile(join(dir, 'serial'), disk.serial.slice(0, 20));
  await symlink(`/sys/block/${loopName}/dev`, join(dir, 'dev'));
  await symlink(`/sys/block/${loopName}/size`, join(dir, 'size'));
  await symlink(disk.loop, join(agent.devDir, disk.name));
}

/** A minimal container rootfs: busybox-static and its applets as symlinks, under the guest's /run/passvol/. */
export async function makeBusyboxRootfs(agent: AgentUnderTest, guestPath: string): Promise<string> {
  if (!BUSYBOX) throw new Error('busybox missing');
  const rootfs = join(agent.root, guestPath);
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'tmp'), { mode: 0o1777 });
  await copyFile(BUSYBOX, join(rootfs, 'bin/busybox'));
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  await Promise.all(applets.map((a) => symlink('busybox', join(rootfs, 'bin', a))));
  return rootfs;
}

export const df = (path: string): { size: number; used: number; avail: number; itotal: number; iused: number; iavail: number } => {
  const out = execFileSync('df', ['-B1', '--output=size,used,avail,itotal,iused,iavail', path], { encoding: 'utf8' });
  const [size = 0, used = 0, avail = 0, itotal = 0, iused = 0, iavail = 0] = (out.trim().split('\n')[1] ?? '').trim().split(/\s+/).map(Number);
  return { size, used, avail, itotal, iused, iavail };
};

export const hasCapability = (bit: number): boolean => {
  const status = execFileSync('cat', ['/proc/self/status'], { encoding: 'utf8' });
  const eff = /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? '0';
  return (BigInt(`0x${eff}`) & (1n << BigInt(bit))) !== 0n;
};
export const CAP_SYS_RESOURCE = 24;

export { existsSync };
