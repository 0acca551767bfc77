// The usage of a filesystem nobody on the host has mounted (a passed-through disk no sandbox uses yet),
// read from its superblock without mounting it.
import type { Exec } from '../../common/exec.js';
import type { FsUsage } from './mounter.js';

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text) ?? new RegExp(`^${name} = (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export async function offlineUsage(exec: Exec, device: string, fstype: string): Promise<FsUsage> {
  if (fstype === 'xfs') {
    const r = await exec.run('xfs_db', ['-r', '-c', 'sb 0', '-c', 'print dblocks fdblocks blocksize icount ifree', device]);
    const bs = field(r.stdout, 'blocksize');
    const total = field(r.stdout, 'dblocks') * bs;
    const free = field(r.stdout, 'fdblocks') * bs;
    const icount = field(r.stdout, 'icount');
    return { totalBytes: total, availableBytes: free, usedBytes: total - free, totalInodes: icount, freeInodes: field(r.stdout, 'ifree'), usedInodes: icount - field(r.stdout, 'ifree') };
  }
  const r = await exec.run('dumpe2fs', ['-h', device]);
  const bs = field(r.stdout, 'Block size');
  const total = field(r.stdout, 'Block count') * bs;
  const free = field(r.stdout, 'Free blocks') * bs;
  const reserved = field(r.stdout, 'Reserved block count') * bs;
  const inodes = field(r.stdout, 'Inode count');
  const freeInodes = field(r.stdout, 'Free inodes');
  return { totalBytes: total, availableBytes: Math.max(0, free - reserved), usedBytes: total - free, totalInodes: inodes, freeInodes, usedInodes: inodes - freeInodes };
}
