// A container's /dev, as OCI runtimes make it: a small tmpfs with the usual character devices, the
// /proc/self/fd links, and a tmpfs /dev/shm. Made in the agent's namespace before the volumes are bound,
// so binds below /dev (Kubernetes' /dev/termination-log) land on top of it.
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunCommand } from './run-command.js';
import { ensureInRoot } from './secure-join.js';

const DEVICES: readonly (readonly [string, number, number])[] = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];

const LINKS: readonly (readonly [string, string])[] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

/** Mounts and fills the container's /dev; returns the mount points made, in order (for unmounting). */
export async function prepareContainerDev(run: RunCommand, rootfsHost: string, made: string[]): Promise<void> {
  const dev = await ensureInRoot(rootfsHost, '/dev', 'dir');
  await run('mount', ['-t', 'tmpfs', '-o', 'nosuid,noexec,mode=755,size=256k', 'tmpfs', dev]);
  made.push(dev);
  for (const [name, major, minor] of DEVICES) await run('mknod', ['-m', '666', join(dev, name), 'c', String(major), String(minor)]);
  for (const [name, target] of LINKS) await symlink(target, join(dev, name));
  const shm = join(dev, 'shm');
  await mkdir(shm, { mode: 0o1777 });
  await run('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=1777,size=64m', 'shm', shm]);
  made.push(shm);
}
