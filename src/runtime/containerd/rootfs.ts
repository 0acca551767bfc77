// A task's root filesystem as containerd's snapshotter describes it (one overlay mount, or a bind of a
// snapshot without parents): the shim mounts it at <bundle>/rootfs, where the sandbox shares it with the
// guest over virtio-fs, and unmounts it when the task is deleted.
import type { Exec } from '../../common/exec.js';
import { invalidArgument, PassvolError } from '../../common/errors.js';

export interface RootfsMount {
  type: string;
  source: string;
  target: string;
  options: string[];
}

const TYPES = new Set(['overlay', 'bind']);

export async function mountRootfs(exec: Exec, mounts: readonly RootfsMount[], target: string): Promise<void> {
  if (mounts.length !== 1) throw invalidArgument(`a task's rootfs must be one mount, not ${mounts.length}`);
  const m = mounts[0]!;
  if (!TYPES.has(m.type)) throw invalidArgument(`rootfs mount type "${m.type}" is not supported (overlay or bind)`);
  if (m.options.some((o) => o.includes(','))) throw invalidArgument('a rootfs mount option holds a comma');
  const args = ['-t', m.type, ...(m.options.length ? ['-o', m.options.join(',')] : []), m.source, target];
  await exec.run('mount', args, { timeoutMs: 60_000 });
}

/** Unmounts the task's rootfs; one already gone is fine. */
export async function unmountRootfs(exec: Exec, target: string): Promise<void> {
  // umount says 32 for any failure; "not mounted" is the one that is fine.
  const r = await exec.run('umount', [target], { timeoutMs: 60_000, okCodes: [32] });
  if (r.code === 0 || /not mounted|no mount point|not found/i.test(r.stderr)) return;
  throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `umount ${target}: ${r.stderr.trim()}`);
}
