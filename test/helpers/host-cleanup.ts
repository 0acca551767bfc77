// Root tests use real mounts and loop devices; the cleanup is the project's own.
import { execFileSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export { undoMountsAndLoops } from '../../src/common/scratch-cleanup.js';

export const needsRoot = process.getuid?.() !== 0 ? 'needs root: uses loop devices, mkfs and mount' : false;

/** A sparse image of `mib` MiB under `dir`, attached as a loop device and formatted ext4: a stand-in disk. */
export function ext4LoopDisk(dir: string, mib = 64, name = 'disk.img'): { img: string; dev: string } {
  const img = join(dir, name);
  writeFileSync(img, '');
  truncateSync(img, mib * 2 ** 20);
  const dev = execFileSync('losetup', ['--find', '--show', img], { encoding: 'utf8' }).trim();
  execFileSync('mkfs.ext4', ['-q', dev]);
  return { img, dev };
}
