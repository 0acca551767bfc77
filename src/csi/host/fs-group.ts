// Kubernetes fsGroup semantics for host-mounted volumes: the group owns everything, can read and write,
// and new files inherit it (setgid directories). With VOLUME_MOUNT_GROUP kubelet leaves this to the driver,
// fsGroupChangePolicy included (the pod's spec.securityContext, read from the API server). Kubelet applies
// none to a read-only volume, so neither does the host path (host-publish.ts).
//
// The walk may run on a volume a pod is using (a repeated publish finishing one cut short), so a container
// can swap any entry for a symlink at any moment. Every entry is therefore opened once, without following a
// symlink (O_PATH | O_NOFOLLOW: no side effects on FIFOs or devices), checked on that descriptor, and
// changed and listed through it (/proc/self/fd/N), never through its name again: a directory swapped for a
// symlink to /etc after it was listed is not followed, and the names below it are looked up in the
// directory that was opened.
import { chmod, chown, lchown, lstat, open, opendir, type FileHandle } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { errnoCode } from '../../common/errors.js';

export const FS_GROUP_CHANGE_POLICIES = ['Always', 'OnRootMismatch'] as const;
export type FsGroupChangePolicy = (typeof FS_GROUP_CHANGE_POLICIES)[number];

/**
 * What a directory gets, and what the root must have for OnRootMismatch to skip the walk: Kubernetes'
 * requiresPermissionChange (owner and group rw and x, and setgid), as the guest agent decides it for a
 * passed-through disk.
 */
const WANTED_DIR_BITS = 0o660 | 0o110 | 0o2000;

/** Linux's O_PATH, which node:fs does not export: a descriptor that names a file without opening it for I/O. */
const O_PATH = 0o10000000;

/** The file a descriptor holds, as a path the kernel resolves to it (or to a name inside it) without re-walking names. */
const viaFd = (h: FileHandle, name?: string): string => `/proc/self/fd/${h.fd}${name === undefined ? '' : `/${name}`}`;

/**
 * Whether the volume root already has the group, its permissions and setgid. The root is fixed last, so a
 * walk cut short by a crash leaves the root unfixed and the next publish walks again.
 */
export async function fsGroupApplied(root: string, gid: number): Promise<boolean> {
  const st = await lstat(root);
  return st.isDirectory() && st.gid === gid && (st.mode & WANTED_DIR_BITS) === WANTED_DIR_BITS;
}

/** Walks the volume unless OnRootMismatch finds its root right already; says whether it walked. */
export async function applyFsGroup(root: string, gid: number, policy: FsGroupChangePolicy = 'Always'): Promise<boolean> {
  if (policy === 'OnRootMismatch' && (await fsGroupApplied(root, gid))) return false;
  const top = await open(root, O_PATH | constants.O_NOFOLLOW | constants.O_DIRECTORY);
  try {
    const topStat = await top.stat();
    const visit = async (h: FileHandle, st: Stats): Promise<void> => {
      if (st.isDirectory()) {
        for await (const entry of await opendir(viaFd(h))) {
          const child = await openEntry(h, entry.name);
          if (!child) continue;
          try {
            const cst = await child.stat();
            // Another filesystem mounted below the volume is not part of it.
            if (cst.dev !== topStat.dev) continue;
            // A symlink gets its own group, never a chmod; what it points to is not the volume's.
            if (cst.isSymbolicLink()) {
              if (cst.gid !== gid) await lchown(viaFd(h, entry.name), -1, gid);
              continue;
            }
            await visit(child, cst);
          } finally {
            await child.close();
          }
        }
      }
      await fixOne(h, st, gid);
    };
    await visit(top, topStat);
  } finally {
    await top.close();
  }
  return true;
}

/** The entry `name` of an open directory, symlinks not followed; undefined when it is gone meanwhile. */
async function openEntry(dir: FileHandle, name: string): Promise<FileHandle | undefined> {
  try {
    return await open(viaFd(dir, name), O_PATH | constants.O_NOFOLLOW);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

async function fixOne(h: FileHandle, st: Stats, gid: number): Promise<void> {
  if (st.gid !== gid) await chown(viaFd(h), -1, gid);
  let mode = (st.mode & 0o7777) | 0o060;
  if (st.isDirectory()) mode |= WANTED_DIR_BITS;
  else if (mode & 0o100) mode |= 0o010;
  // chown clears setuid/setgid on files: the mode read before it is set again.
  if (mode !== (st.mode & 0o7777) || st.gid !== gid) await chmod(viaFd(h), mode);
}
