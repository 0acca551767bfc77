// Capacity and inode usage of a mounted filesystem, as df shows them (used = total - free; available is
// what an unprivileged writer may still use).
import { statfs } from 'node:fs/promises';
import type { Usage } from '../protocol/index.js';

export interface FsUsage {
  readonly bytes: Usage;
  readonly inodes: Usage;
}

export async function fsUsage(path: string): Promise<FsUsage> {
  const s = await statfs(path, { bigint: true });
  const n = (x: bigint): number => Number(x);
  return {
    bytes: { total: n(s.blocks * s.bsize), used: n((s.blocks - s.bfree) * s.bsize), available: n(s.bavail * s.bsize) },
    inodes: { total: n(s.files), used: n(s.files - s.ffree), available: n(s.ffree) },
  };
}
