// Kubernetes fsGroup semantics (SetVolumeOwnership) applied inside the guest: every file and directory of
// the volume gets group fsGroup and group read/write (0660 added; 0440 for a read-only volume), directories
// also get group execute and setgid (so new files inherit the group); symlinks get their group changed but
// no chmod. With OnRootMismatch the walk is skipped when the volume root already has that group, those
// permission bits and setgid. The walk stays on the volume's filesystem (it never crosses into other mounts).
import { lchown, chmod, lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';

const RW_MASK = 0o660;
const RO_MASK = 0o440;
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

export type FsGroupChangePolicy = 'Always' | 'OnRootMismatch';

export interface FsGroupResult {
  /** False when OnRootMismatch found the root already right. */
  readonly changed: boolean;
  readonly entries: number;
}

/** True when the volume root still needs the fsGroup treatment (Kubernetes' requiresPermissionChange). */
export function rootNeedsChange(root: Stats, fsGroup: number, readonly: boolean): boolean {
  if (root.gid !== fsGroup) return true;
  if (!root.isDirectory()) return true;
  const wanted = (readonly ? RO_MASK : RW_MASK) | EXEC_MASK;
  if ((root.mode & wanted) !== wanted) return true;
  return (root.mode & SETGID) === 0;
}

async function fixOne(path: string, st: Stats, fsGroup: number, readonly: boolean): Promise<void> {
  if (st.gid !== fsGroup) await lchown(path, -1, fsGroup);
  if (st.isSymbolicLink()) return;
  let mask = readonly ? RO_MASK : RW_MASK;
  if (st.isDirectory()) mask |= EXEC_MASK | SETGID;
  const mode = st.mode & 0o7777;
  // chown clears setuid/setgid on files, so the mode is set after it, from the mode read before.
  if ((mode | mask) !== mode || st.gid !== fsGroup) await chmod(path, mode | mask);
}

export async function applyFsGroup(
  root: string,
  fsGroup: number,
  options: { policy?: FsGroupChangePolicy; readonly?: boolean } = {},
): Promise<FsGroupResult> {
  const readonly = options.readonly ?? false;
  const top = await lstat(root);
  if (options.policy === 'OnRootMismatch' && !rootNeedsChange(top, fsGroup, readonly)) return { changed: false, entries: 0 };
  let entries = 0;
  const walk = async (path: string, st: Stats): Promise<void> => {
    await fixOne(path, st, fsGroup, readonly);
    entries++;
    if (!st.isDirectory()) return;
    for await (const entry of await opendir(path)) {
      const child = join(path, entry.name);
      const cst = await lstat(child);
      // Another filesystem mounted below the volume is not part of it.
      if (cst.dev !== top.dev) continue;
      await walk(child, cst);
    }
  };
  await walk(root, top);
  return { changed: true, entries };
}
