// What of the host a sandbox's guest sees over the shared filesystem: the rootfs, each shared folder, and
// for single files (Kubernetes' /etc/hosts, /etc/resolv.conf, termination-log) only the files themselves:
// each is bind-mounted into a folder of the sandbox's own and that folder is shared, as Kata does. Sharing
// a file's parent instead would hand the guest, read-write, every other file beside it (for
// /etc/resolv.conf: all of /etc). What the container mounts read-only is read-only on the host side too
// (a read-only bind in the sandbox's folder is what gets shared), so not even the guest kernel can write it.
import { mkdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { notFound } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
import { readMountTable } from '../../common/mount-table.js';
import { undoMountsUnder } from '../../common/scratch-cleanup.js';
import { shareKey } from '../volumes/shared-volume.js';
import { readonlyMount, type PlannedMount } from '../volumes/volume-plan.js';

export interface PlannedShare {
  tag: string;
  hostDir: string;
  /** shareKey(mount source, read-only) -> its path relative to the share's root ('' for the root itself). */
  entries: Map<string, string>;
}

/** The sandbox's folder of binds: `files/` (shared as one share) and `dirN/` (read-only folders). */
export const FILES_DIR = 'shared';
/**
 * The pod share: one virtio-fs share for every container added after the first, as Kata's one shared
 * folder, so that a container added costs no hot-plug slot and no virtiofsd of its own. Each container's
 * rootfs, folders and files are bind-mounted in `mounts/<key>/`, which the guest never sees; the share is
 * `containers/`, a read-only bind of `mounts/` that receives its mounts (a slave of it, as virtiofsd's own
 * namespace is of the host's), so binds made after virtiofsd started reach the guest, and the guest can
 * create nothing there (a link it put where a bind was about to be made would send the bind elsewhere).
 */
export const MOUNTS_DIR = 'mounts';
const CONTAINERS_DIR = 'containers';

/** Makes the file or folder a bind is mounted on. */
async function mountPointFor(to: string, file: boolean): Promise<void> {
  await mkdir(file ? dirname(to) : to, { recursive: true, mode: 0o700 });
  if (file) await writeFile(to, '', { mode: 0o600 });
}

/**
 * Bind-mounts `from` at `to` (a file or folder it makes), read-only on the host side when asked. A read-only
 * bind is made read-only in `staging` first and only then bound at `to` (a bind keeps its source's read-only
 * flag): made at `to` and remounted there, it would reach the pod share's virtiofsd writable, as mounts
 * propagate when they are made and a remount does not follow them.
 */
async function bind(exec: Exec, from: string, to: string, readonly: boolean, file: boolean, staging?: string): Promise<void> {
  await mountPointFor(to, file);
  if (!readonly) {
    await exec.run('mount', [file ? '--bind' : '--rbind', from, to]);
    return;
  }
  if (!staging) {
    await exec.run('mount', ['--bind', from, to]);
    await exec.run('mount', ['-o', 'remount,bind,ro', to]);
    return;
  }
  await mountPointFor(staging, file);
  await exec.run('mount', ['--bind', from, staging]);
  try {
    await exec.run('mount', ['-o', 'remount,bind,ro', staging]);
    await exec.run('mount', ['--bind', staging, to]);
  } finally {
    await exec.run('umount', [staging]).catch(() => undefined);
    // Never recursively: were the unmount to have failed, that would reach into what the bind shows.
    await (file ? unlink(staging) : rmdir(staging)).catch(() => undefined);
  }
}

/** The distinct host sources of a container's shared mounts (a source mounted read-only and read-write counts twice). */
async function sharedSources(plans: readonly PlannedMount[]): Promise<{ hostPath: string; readonly: boolean; key: string; isDirectory: boolean }[]> {
  const out = new Map<string, { hostPath: string; readonly: boolean; key: string; isDirectory: boolean }>();
  for (const p of plans) {
    if (p.kind !== 'shared') continue;
    const st = await stat(p.hostPath).catch(() => undefined);
    if (!st) throw notFound(`mount source ${p.hostPath} does not exist on the host`);
    const readonly = readonlyMount(p.mount);
    const key = shareKey(p.hostPath, readonly);
    if (!out.has(key)) out.set(key, { hostPath: p.hostPath, readonly, key, isDirectory: st.isDirectory() });
  }
  return [...out.values()];
}

/**
 * The shares the sandbox's first container needs, on the VM's command line: its rootfs, each folder (a
 * read-only one through a read-only bind in `<bindsParent>/shared/`), and one share for its single files.
 */
export async function planShares(rootfs: string, plans: readonly PlannedMount[], bindsParent: string, exec: Exec): Promise<PlannedShare[]> {
  const rootKey = shareKey(rootfs, false);
  const shares = new Map<string, PlannedShare>([[rootKey, { tag: 'rootfs', hostDir: rootfs, entries: new Map([[rootKey, '']]) }]]);
  const binds = join(bindsParent, FILES_DIR);
  const files = new Map<string, string>();
  for (const src of await sharedSources(plans)) {
    if (shares.has(src.key)) continue;
    if (!src.isDirectory) {
      const name = `${files.size}-${basename(src.hostPath)}`;
      await bind(exec, src.hostPath, join(binds, 'files', name), src.readonly, true);
      files.set(src.key, name);
    } else {
      const hostDir = src.readonly ? join(binds, `dir${shares.size}`) : src.hostPath;
      if (src.readonly) await bind(exec, src.hostPath, hostDir, true, false);
      shares.set(src.key, { tag: `share${shares.size}`, hostDir, entries: new Map([[src.key, '']]) });
    }
  }
  return files.size === 0 ? [...shares.values()] : [...shares.values(), { tag: FILES_DIR, hostDir: join(binds, 'files'), entries: files }];
}

/** Sets up the pod share's two folders (idempotent): `mounts/` where binds are made, `containers/` to share. */
export async function preparePodShare(sandboxDir: string, exec: Exec): Promise<{ mountsDir: string; shareDir: string }> {
  const mountsDir = join(sandboxDir, MOUNTS_DIR);
  const shareDir = join(sandboxDir, CONTAINERS_DIR);
  for (const d of [mountsDir, shareDir]) await mkdir(d, { recursive: true, mode: 0o700 });
  const mounted = new Set((await readMountTable()).map((m) => m.mountPoint));
  if (!mounted.has(mountsDir)) await exec.run('mount', ['--bind', mountsDir, mountsDir]);
  await exec.run('mount', ['--make-shared', mountsDir]);
  if (!mounted.has(shareDir)) await exec.run('mount', ['--rbind', mountsDir, shareDir]);
  await exec.run('mount', ['--make-slave', shareDir]);
  await exec.run('mount', ['-o', 'remount,bind,ro', shareDir]);
  return { mountsDir, shareDir };
}

/**
 * Binds what a container added to the sandbox needs from the host into its folder `<mounts>/<key>/`:
 * its rootfs at `rootfs`, each folder at `dirN` (read-only on the host side when the container mounts it
 * so), each single file under `files/`. Returns each mount source's path relative to the pod share, and
 * which of them are folders (each a mount of its own in the guest, as submounts are announced).
 */
export async function bindIntoPodShare(mountsDir: string, key: string, rootfs: string, plans: readonly PlannedMount[], exec: Exec): Promise<{ entries: Map<string, string>; folders: string[] }> {
  // Beside the pod share's folders, in the sandbox's own: binds made there reach no virtiofsd.
  const staging = join(dirname(mountsDir), `staging-${key}`);
  const entries = new Map<string, string>([[shareKey(rootfs, false), `${key}/rootfs`]]);
  const folders = [`${key}/rootfs`];
  await bind(exec, rootfs, join(mountsDir, key, 'rootfs'), false, false);
  for (const src of await sharedSources(plans)) {
    if (entries.has(src.key)) continue;
    const relative = src.isDirectory ? `${key}/dir${entries.size}` : `${key}/files/${entries.size}-${basename(src.hostPath)}`;
    await bind(exec, src.hostPath, join(mountsDir, relative), src.readonly, !src.isDirectory, staging);
    entries.set(src.key, relative);
    if (src.isDirectory) folders.push(relative);
  }
  return { entries, folders };
}

/** Undoes the binds (the file binds, the pod share and what is in it) before the sandbox folder can be removed; safe to repeat. */
export function releaseShares(sandboxDir: string): void {
  undoMountsUnder(sandboxDir);
}
