// Every sandbox has a folder under the runtime root holding what is needed to find and clean it up after
// a crash: state.json (pids, volumes bound, sockets), written atomically at each change.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonIfExists, writeJsonDurably } from '../../common/durable-json.js';
import { validateSandboxId } from '../../directvolume/index.js';

export const DEFAULT_RUNTIME_ROOT = '/run/passvol/sandboxes';

export const SandboxStateSchema = z.object({
  id: z.string(),
  bundle: z.string(),
  status: z.enum(['creating', 'created', 'running', 'stopped']),
  /** The process that owns the sandbox (the runtime) and the VM. */
  runtimePid: z.number().int(),
  vmPid: z.number().int().optional(),
  createdAt: z.string(),
  exitCode: z.number().int().optional(),
  /** Direct volumes bound to this sandbox (record volume paths), released at teardown or by gc. */
  boundVolumes: z.array(z.object({ volumePath: z.string(), device: z.string(), kind: z.enum(['block', 'nfs']), hotplugId: z.string().optional() })).default([]),
  monitorSocket: z.string().optional(),
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

  async remove(id: string): Promise<void> {
    await rm(this.dir(id), { recursive: true, force: true });
  }
}

/** A sandbox is alive while the process that owns it is (its pid is reused only after it died). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
