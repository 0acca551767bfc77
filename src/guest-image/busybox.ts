// The initramfs's only program: Debian's busybox-static (installed with apt-get if it is missing). Its
// applets become symlinks in /bin at build time, so the guest does not run `busybox --install` on boot.
import { readFile } from 'node:fs/promises';
import { failedPrecondition } from '../common/errors.js';
import type { Exec } from '../common/exec.js';
import { isStaticElf64 } from './elf.js';

export const BUSYBOX_PATH = '/bin/busybox';
export const BUSYBOX_PACKAGE = 'busybox-static';

async function staticBusybox(path: string): Promise<Buffer | undefined> {
  try {
    const bytes = await readFile(path);
    return isStaticElf64(bytes) ? bytes : undefined;
  } catch {
    return undefined;
  }
}

export async function findStaticBusybox(exec: Exec, o: { path?: string; install?: boolean } = {}): Promise<{ path: string; bytes: Buffer }> {
  const path = o.path ?? BUSYBOX_PATH;
  let bytes = await staticBusybox(path);
  if (!bytes && o.install !== false && path === BUSYBOX_PATH && process.getuid?.() === 0) {
    await exec.run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', BUSYBOX_PACKAGE], { timeoutMs: 600_000 });
    bytes = await staticBusybox(path);
  }
  if (!bytes) throw failedPrecondition(`${path} is missing or not statically linked: install the Debian package ${BUSYBOX_PACKAGE}`);
  return { path, bytes };
}

/** `busybox --list`: one applet name per line. */
export function parseApplets(listOutput: string): string[] {
  return [...new Set(listOutput.split('\n').map((s) => s.trim()).filter((s) => /^[A-Za-z0-9_.[-]+$/.test(s) && s !== 'busybox'))].sort();
}

export async function listApplets(exec: Exec, path: string): Promise<string[]> {
  return parseApplets((await exec.run(path, ['--list'])).stdout);
}
