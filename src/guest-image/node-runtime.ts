// Node for the guest: the host's node binary plus the shared libraries `ldd` lists and the dynamic loader,
// each placed at the path the loader will look for (the initramfs links those folders to the agent disk).
import { realpath } from 'node:fs/promises';
import { GUEST_CAPS_EXEC } from '../protocol/index.js';
import { failedPrecondition } from '../common/errors.js';
import type { Exec } from '../common/exec.js';
import { sharedLibraries } from '../common/shared-libraries.js';

export interface RuntimeFile {
  /** Where the bytes are on the host (symlinks resolved). */
  source: string;
  /** Absolute path in the guest. */
  guestPath: string;
  mode: number;
}

/** Folders the initramfs maps onto the agent disk; a library anywhere else would not be found. */
export const GUEST_LIBRARY_ROOTS = ['/lib/x86_64-linux-gnu/', '/lib64/', '/usr/'] as const;

export function checkGuestPath(path: string): string {
  if (!GUEST_LIBRARY_ROOTS.some((root) => path.startsWith(root)) || path.split('/').includes('..')) {
    throw failedPrecondition(`node needs ${path}, outside the folders the guest maps to the agent disk (${GUEST_LIBRARY_ROOTS.join(', ')})`);
  }
  return path;
}

/**
 * Host tools the agent runs in the guest, beyond busybox: online growth of ext4 and xfs, setpriv to
 * start processes with supplementary groups, and script to give a process a terminal. They come from the host's e2fsprogs, xfsprogs and util-linux,
 * with their libraries, like node.
 */
export const GUEST_TOOLS = [
  { host: '/usr/sbin/resize2fs', guest: '/usr/sbin/resize2fs' },
  { host: '/usr/sbin/xfs_growfs', guest: '/usr/sbin/xfs_growfs' },
  { host: '/usr/bin/setpriv', guest: '/usr/bin/setpriv' },
  { host: '/usr/bin/script', guest: '/usr/bin/script' },
] as const;

async function withLibraries(exec: Exec, files: RuntimeFile[], binary: string, guestPath: string): Promise<void> {
  const libs = await sharedLibraries(exec, binary);
  files.push({ source: await realpath(binary), guestPath, mode: 0o755 });
  for (const lib of libs) {
    if (!files.some((f) => f.guestPath === lib)) files.push({ source: await realpath(lib), guestPath: checkGuestPath(lib), mode: 0o755 });
  }
}

/**
 * Node and its libraries, the host tools, and the agent's capability helper when it was built (static: no
 * libraries; scripts/install-go-tools.sh builds it).
 */
export async function collectNodeRuntime(exec: Exec, nodePath: string, capsExec?: string): Promise<RuntimeFile[]> {
  const files: RuntimeFile[] = [];
  await withLibraries(exec, files, nodePath, '/usr/bin/node');
  for (const tool of GUEST_TOOLS) await withLibraries(exec, files, tool.host, tool.guest);
  if (capsExec) files.push({ source: await realpath(capsExec), guestPath: GUEST_CAPS_EXEC, mode: 0o755 });
  return files;
}
