// Kubernetes fsGroup semantics for host-mounted volumes: the group owns everything, can read and write,
// and new files inherit it (setgid directories). With VOLUME_MOUNT_GROUP kubelet leaves this to the driver.
import { lchown, lstat, readdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';

export async function applyFsGroup(root: string, gid: number, readonly: boolean): Promise<void> {
  const visit = async (p: string): Promise<void> => {
    const st = await lstat(p);
    if (st.isSymbolicLink()) return;
    if (st.gid !== gid) await lchown(p, st.uid, gid);
    let mode = st.mode & 0o7777;
    mode |= readonly ? 0o040 : 0o060;
    if (st.isDirectory()) mode |= 0o2010;
    else if (mode & 0o100) mode |= 0o010;
    if (mode !== (st.mode & 0o7777)) await chmod(p, mode);
    if (st.isDirectory()) for (const name of await readdir(p)) await visit(join(p, name));
  };
  await visit(root);
}
