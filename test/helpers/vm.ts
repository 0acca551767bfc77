// VM tests: build the guest image (cached) with a chosen agent, boot it under whatever accel is usable,
// talk to the agent over QEMU's socket for its virtio-serial port, and clean everything up afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildGuestImage, type GuestImage } from '../../src/guest-image/build-guest-image.js';
import { createLogger } from '../../src/common/logger.js';
import type { RunningVm, VmSpec } from '../../src/runtime/hypervisor.js';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { QemuHypervisor } from '../../src/runtime/qemu/qemu-vm.js';

export const PLACEHOLDER_AGENT = fileURLToPath(new URL('../integration/vm/fixtures/placeholder-agent.mjs', import.meta.url));

/** Why VM tests cannot run here, or undefined when they can. */
export function vmSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'VM tests need root (apt-get for the image, loop devices)';
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) return 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)';
  return undefined;
}

let imagePromise: Promise<GuestImage> | undefined;

/**
 * The test image, built once per process: the placeholder agent unless PASSVOL_VM_TEST_AGENT names an
 * entry point (e.g. src/agent/main.ts). Its manifest is manifest-test.json, beside the default one.
 */
export function testImage(): Promise<GuestImage> {
  imagePromise ??= buildGuestImage({ agentEntry: process.env.PASSVOL_VM_TEST_AGENT ?? PLACEHOLDER_AGENT, manifestName: 'manifest-test.json' });
  return imagePromise;
}

export interface BootedVm {
  vm: RunningVm;
  stateDir: string;
  spec: VmSpec;
  /** Wall time from start() to the first agent reply. */
  bootToAgentMs: number;
}

const log = createLogger({ level: process.env.PASSVOL_LOG_LEVEL ?? 'warn', name: 'vm-test' });

/** Boots a VM from the test image; it is stopped when the test ends, whatever happens. */
export async function bootVm(t: TestContext, extra: Partial<VmSpec> = {}): Promise<BootedVm> {
  const image = await testImage();
  const stateDir = await mkdtemp(join(tmpdir(), 'pv-vm-'));
  const booted: { vm?: RunningVm } = {};
  // One hook, in order: stop the VM, then remove its folder.
  t.after(async () => {
    await booted.vm?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });
  const spec: VmSpec = {
    name: 'test',
    kernel: image.manifest.kernel.path,
    initrd: image.manifest.initramfs.path,
    cmdline: image.manifest.cmdline,
    memoryMiB: 512,
    cpus: 2,
    agentDisk: image.manifest.agentDisk.path,
    agentPort: { name: image.manifest.agentPort, socketPath: join(stateDir, 'agent.sock') },
    stateDir,
    ...extra,
  };
  const started = Date.now();
  const vm = await new QemuHypervisor({ log }).start(spec);
  booted.vm = vm;
  await agentRequest(spec.agentPort.socketPath, 'ping', 60_000);
  return { vm, stateDir, spec, bootToAgentMs: Date.now() - started };
}

/**
 * Sends `{"v":PROTOCOL_VERSION,"id":N,"op":op}` until a reply with one of the ids sent comes back (the guest may not have
 * opened the port yet), and returns the reply's result. Replies to other ids (late answers to an earlier
 * connection's resends) are skipped.
 */
export function agentRequest(socketPath: string, op: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  const sent = new Set<number>();
  let nextId = Math.floor(Math.random() * 1e9);
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (Date.now() > deadline) return reject(new Error(`agent did not answer ${op} within ${timeoutMs} ms`));
      const socket = connect(socketPath);
      let buffered = '';
      const send = (): void => {
        const id = ++nextId;
        sent.add(id);
        socket.write(JSON.stringify({ v: PROTOCOL_VERSION, id, op }) + '\n');
      };
      const resend = setInterval(send, 1000);
      const giveUp = setTimeout(() => {
        finish();
        attempt();
      }, Math.max(0, deadline - Date.now()) + 1);
      const finish = (): void => {
        clearInterval(resend);
        clearTimeout(giveUp);
        socket.destroy();
      };
      socket.on('connect', send);
      socket.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const msg = JSON.parse(line) as { id?: number; ok?: boolean; result?: Record<string, unknown>; error?: unknown };
          if (msg.id === undefined || !sent.has(msg.id)) continue;
          finish();
          if (msg.ok === true) return resolve(msg.result ?? {});
          return reject(new Error(`agent refused ${op}: ${JSON.stringify(msg.error)}`));
        }
      });
      socket.on('error', () => {
        finish();
        setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Polls `check` every 20 ms until it returns a value; returns it and how long it took. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface LoopDisk {
  file: string;
  device: string;
  /** Grows the backing file and tells the loop driver (losetup -c). */
  grow(bytes: number): void;
}

/** A folder removed when the test ends (the test's own hook: node:test's global after() can miss it). */
export async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A sparse file attached to a loop device, detached when the test ends. */
export async function loopDisk(t: TestContext, bytes: number): Promise<LoopDisk> {
  const dir = await tempDir(t, 'pv-loop-');
  const file = join(dir, 'disk.raw');
  execFileSync('truncate', ['-s', String(bytes), file]);
  const device = execFileSync('losetup', ['--find', '--show', '--direct-io=on', file], { encoding: 'utf8' }).trim();
  t.after(() => {
    try {
      execFileSync('losetup', ['-d', device]);
    } catch {
      /* already detached */
    }
  });
  return {
    file,
    device,
    grow: (size) => {
      execFileSync('truncate', ['-s', String(size), file]);
      execFileSync('losetup', ['-c', device]);
    },
  };
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
