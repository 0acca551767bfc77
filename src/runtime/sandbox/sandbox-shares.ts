// What of the host a sandbox's guest sees over the shared filesystem: the rootfs, each shared folder, and
// for single files (Kubernetes' /etc/hosts, /etc/resolv.conf, termination-log) only the files themselves:
// each is bind-mounted into a folder of the sandbox's own and that folder is shared, as Kata does. Sharing
// a file's parent instead would hand the guest, read-write, every other file beside it (for
// /etc/resolv.conf: all of /etc). What the container mounts read-only is read-only on the host side too
// (a read-only bind in the sandbox's folder is what gets shared), so not even the guest kernel can write it.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { notFound } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
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
/** Each later container's own folder of binds (`containers/<key>/shared/`). */
export const CONTAINERS_DIR = 'containers';

/**
 * The shares one container needs. The sandbox's first container's binds go in `<bindsParent>/shared/` with
 * tags rootfs, shareN and shared; a later container's in its own folder, its tags prefixed with its key.
 */
export async function planShares(rootfs: string, plans: readonly PlannedMount[], bindsParent: string, exec: Exec, tagPrefix = ''): Promise<PlannedShare[]> {
  const shares = new Map<string, PlannedShare>([[shareKey(rootfs, false), { tag: `${tagPrefix}rootfs`, hostDir: rootfs, entries: new Map([[shareKey(rootfs, false), '']]) }]]);
  const files: { hostPath: string; readonly: boolean }[] = [];
  const binds = join(bindsParent, FILES_DIR);
  const bind = async (from: string, to: string, readonly: boolean, file: boolean) => {
    await mkdir(file ? join(binds, 'files') : to, { recursive: true, mode: 0o700 });
    if (file) await writeFile(to, '', { mode: 0o600 });
    await exec.run('mount', ['--bind', from, to]);
    if (readonly) await exec.run('mount', ['-o', 'remount,bind,ro', to]);
  };
  for (const p of plans) {
    if (p.kind !== 'shared') continue;
    const st = await stat(p.hostPath).catch(() => undefined);
    if (!st) throw notFound(`mount source ${p.hostPath} does not exist on the host`);
    const readonly = readonlyMount(p.mount);
    const key = shareKey(p.hostPath, readonly);
    if (shares.has(key) || files.some((f) => shareKey(f.hostPath, f.readonly) === key)) continue;
    if (!st.isDirectory()) {
      files.push({ hostPath: p.hostPath, readonly });
    } else if (readonly) {
      const dir = join(binds, `dir${shares.size}`);
      await bind(p.hostPath, dir, true, false);
      shares.set(key, { tag: `${tagPrefix}share${shares.size}`, hostDir: dir, entries: new Map([[key, '']]) });
    } else {
      shares.set(key, { tag: `${tagPrefix}share${shares.size}`, hostDir: p.hostPath, entries: new Map([[key, '']]) });
    }
  }
  if (files.length === 0) return [...shares.values()];
  const entries = new Map<string, string>();
  for (const [i, f] of files.entries()) {
    const name = `${i}-${basename(f.hostPath)}`;
    await bind(f.hostPath, join(binds, 'files', name), f.readonly, true);
    entries.set(shareKey(f.hostPath, f.readonly), name);
  }
  return [...shares.values(), { tag: `${tagPrefix}${FILES_DIR}`, hostDir: join(binds, 'files'), entries }];
}

/** Undoes the file binds (before the sandbox folder can be removed); safe to repeat. */
export function releaseShares(sandboxDir: string): void {
  undoMountsUnder(join(sandboxDir, FILES_DIR));
  undoMountsUnder(join(sandboxDir, CONTAINERS_DIR));
}
