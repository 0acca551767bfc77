// Kubernetes fsGroup semantics for host-mounted volumes: the group owns everything, can read and write,
// and new files inherit it (setgid directories). With VOLUME_MOUNT_GROUP kubelet leaves this to the driver.
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

const wantedRootBits = (readonly: boolean) => (readonly ? 0o040 : 0o060) | 0o2010;

/**
 * Whether the volume root already has the group, its permissions and setgid. The root is fixed last, so a
 * walk cut short by a crash leaves the root unfixed and the next publish walks again.
 */
export async function fsGroupApplied(root: string, gid: number, readonly: boolean): Promise<boolean> {
  const st = await lstat(root);
  const wanted = wantedRootBits(readonly);
  return st.isDirectory() && st.gid === gid && (st.mode & wanted) === wanted;
}

export async function applyFsGroup(root: string, gid: number, readonly: boolean): Promise<void> {
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
    if (st.isDirectory()) mode |= 0o2010;
    else if (mode & 0o100) mode |= 0o010;
    // chown clears setuid/setgid on files: the mode read before it is set again.
    if (mode !== (st.mode & 0o7777) || st.gid !== gid) await chmod(p, mode);
  };
  await visit(root, top);
}
