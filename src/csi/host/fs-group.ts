// Kubernetes fsGroup semantics for host-mounted volumes: the group owns everything, can read and write,
// and new files inherit it (setgid directories). With VOLUME_MOUNT_GROUP kubelet leaves this to the driver,
// fsGroupChangePolicy included (the pod's spec.securityContext, read from the API server).
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

export const FS_GROUP_CHANGE_POLICIES = ['Always', 'OnRootMismatch'] as const;
export type FsGroupChangePolicy = (typeof FS_GROUP_CHANGE_POLICIES)[number];

/**
 * What a directory gets, and what the root must have for OnRootMismatch to skip the walk: Kubernetes'
 * requiresPermissionChange (owner and group rw, or r for read-only, plus x, and setgid), as the guest agent
 * decides it for a passed-through disk.
 */
const wantedDirBits = (readonly: boolean) => (readonly ? 0o440 : 0o660) | 0o110 | 0o2000;

/**
 * Whether the volume root already has the group, its permissions and setgid. The root is fixed last, so a
 * walk cut short by a crash leaves the root unfixed and the next publish walks again.
 */
export async function fsGroupApplied(root: string, gid: number, readonly: boolean): Promise<boolean> {
  const st = await lstat(root);
  const wanted = wantedDirBits(readonly);
  return st.isDirectory() && st.gid === gid && (st.mode & wanted) === wanted;
}

/** Walks the volume unless OnRootMismatch finds its root right already; says whether it walked. */
export async function applyFsGroup(root: string, gid: number, readonly: boolean, policy: FsGroupChangePolicy = 'Always'): Promise<boolean> {
  if (policy === 'OnRootMismatch' && (await fsGroupApplied(root, gid, readonly))) return false;
  const top = await lstat(root);
  const visit = async (p: string, st: Stats): Promise<void> => {
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      for (const name of await readdir(p)) {
        const child = join(p, name);
        const cst = await lstat(child);
        // Another filesystem mounted below the volume is not part of it.
        if (cst.dev === top.dev) await visit(child, cst);
      }
    }
    if (st.gid !== gid) await lchown(p, st.uid, gid);
    let mode = st.mode & 0o7777;
    mode |= readonly ? 0o040 : 0o060;
    if (st.isDirectory()) mode |= wantedDirBits(readonly);
    else if (mode & 0o100) mode |= 0o010;
    // chown clears setuid/setgid on files: the mode read before it is set again.
    if (mode !== (st.mode & 0o7777) || st.gid !== gid) await chmod(p, mode);
  };
  await visit(root, top);
  return true;
}
