// Every sandbox has a folder under the runtime root holding what is needed to find and clean it up after
// a crash: state.json (pids, volumes bound, sockets), written atomically at each change.
import { readFileSync } from 'node:fs';
import { pidAlive } from '../../common/processes.js';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonIfExists, writeJsonDurably } from '../../common/durable-json.js';
import { removeUnmounted } from '../../common/scratch-cleanup.js';
import { validateSandboxId } from '../../directvolume/index.js';

export const DEFAULT_RUNTIME_ROOT = '/run/passvol/sandboxes';

/** QEMU's socket for the guest agent's port, in the sandbox's folder: the runtime and `gc` both reach the agent there. */
export function agentSocketPath(sandboxDir: string): string {
  return join(sandboxDir, 'agent.sock');
}

export const SandboxStateSchema = z.object({
  id: z.string(),
  bundle: z.string(),
  status: z.enum(['creating', 'created', 'running', 'stopped']),
  /** The process that owns the sandbox (the runtime) and the VM. */
  runtimePid: z.number().int(),
  /** When that process started, in clock ticks since boot (/proc/<pid>/stat): tells it from a reused pid. */
  runtimeStart: z.number().int().optional(),
  vmPid: z.number().int().optional(),
  /** The VM's size: the configured base plus the pod's limits (sandbox-size.ts). */
  vmSize: z.object({ memoryMiB: z.number().int(), cpus: z.number().int() }).optional(),
  createdAt: z.string(),
  exitCode: z.number().int().optional(),
  /** Direct volumes bound to this sandbox (record volume paths), released at teardown or by gc. */
  boundVolumes: z.array(z.object({ volumePath: z.string(), device: z.string(), kind: z.enum(['block', 'nfs']), hotplugId: z.string().optional() })).default([]),
  monitorSocket: z.string().optional(),
  /** The pod's cgroup folders the runtime joined (one per hierarchy), removed at teardown or by gc. */
  cgroupDirs: z.array(z.string()).optional(),
  /** The pod's network namespace and the interfaces in it whose frames go to the VM (redirects to take off). */
  podNetwork: z.object({ netns: z.string(), interfaces: z.array(z.string()) }).optional(),
});
export type SandboxState = z.infer<typeof SandboxStateSchema>;

export class SandboxDirs {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, validateSandboxId(id));
  }

  async create(id: string): Promise<string> {
    const dir = this.dir(id);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  async read(id: string): Promise<SandboxState | undefined> {
    const raw = await readJsonIfExists(join(this.dir(id), 'state.json'));
    const parsed = SandboxStateSchema.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  }

  async write(state: SandboxState): Promise<void> {
    await writeJsonDurably(join(this.dir(state.id), 'state.json'), state);
  }

  async list(): Promise<string[]> {
    return (await readdir(this.root).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  }

  /** Removes the sandbox's folder; refused while anything is still mounted in it (see removeUnmounted). */
  async remove(id: string): Promise<void> {
    await removeUnmounted(this.dir(id));
  }
}

/** A process with this pid exists (any process: see the two checks below for ours). */
export const isAlive = pidAlive;

/** When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined if gone. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/** When a process started, in ms since the epoch (boot time + start ticks); undefined if gone. */
export function processStartMs(pid: number): number | undefined {
  const ticks = processStartTicks(pid);
  if (ticks === undefined) return undefined;
  try {
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return btime * 1000 + (ticks * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * The runtime that owns a sandbox is alive: its pid exists and is the same process, not a newer one the
 * kernel gave that pid after the runtime died. Compared by start ticks, which no clock change moves; state
 * written before those were recorded falls back to "started before the sandbox was created".
 */
export function runtimeAlive(state: Pick<SandboxState, 'runtimePid' | 'createdAt' | 'runtimeStart'>): boolean {
  if (!isAlive(state.runtimePid)) return false;
  if (state.runtimeStart !== undefined) return processStartTicks(state.runtimePid) === state.runtimeStart;
  const started = processStartMs(state.runtimePid);
  // Start times are in clock ticks (10 ms) and boot time in whole seconds: allow for the rounding.
  return started === undefined || started <= Date.parse(state.createdAt) + 2000;
}

/** The sandbox's VM process is alive: the pid exists and its command line names the sandbox's folder. */
export function vmAlive(pid: number | undefined, sandboxDir: string): boolean {
  if (!pid || !isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${sandboxDir}/`);
  } catch {
    return false;
  }
}
