// Mounting, formatting and growing filesystems on the host, through the system tools.
import { mkdir, rmdir, statfs } from 'node:fs/promises';
import { PassvolError, errnoCode, failedPrecondition } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
import { isMountPoint, readMountTable } from '../../common/mount-table.js';
import { diskBytes } from '../../common/block-devices.js';

export const SUPPORTED_FSTYPES = ['ext4', 'xfs', 'ext3'] as const;

export interface FsUsage {
  totalBytes: number;
  availableBytes: number;
  usedBytes: number;
  totalInodes: number;
  freeInodes: number;
  usedInodes: number;
}

export class Mounter {
  constructor(private readonly exec: Exec) {}

  /**
   * What a device holds, probed on the device itself (blkid -p): a filesystem type, and a partition
   * table type (a disk with partitions but no filesystem on the whole disk is not empty).
   */
  async probe(device: string): Promise<{ type?: string; partitionTable?: string }> {
    const r = await this.exec.run('blkid', ['-p', '-o', 'export', device], { okCodes: [2] });
    if (r.code === 2) return {};
    const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(r.stdout)?.[1]?.trim() || undefined;
    const type = value('TYPE');
    const partitionTable = value('PTTYPE');
    return { ...(type ? { type } : {}), ...(partitionTable ? { partitionTable } : {}) };
  }

  /** The filesystem on a device, or undefined when it has none. */
  async filesystemOf(device: string): Promise<string | undefined> {
    return (await this.probe(device)).type;
  }

  /** Formats only a device with nothing on it; an existing filesystem or partition table is never touched. */
  async formatIfNew(device: string, fstype: string, mkfsOptions: readonly string[] = []): Promise<{ formatted: boolean; fstype: string }> {
    const found = await this.probe(device);
    const existing = found.type;
    if (existing !== undefined) {
      if (existing !== fstype) {
        throw failedPrecondition(`device ${device} already holds a ${existing} filesystem, not ${fstype}; it is not reformatted (ask for fstype ${existing})`);
      }
      return { formatted: false, fstype: existing };
    }
    if (found.partitionTable !== undefined) {
      throw failedPrecondition(`device ${device} holds a ${found.partitionTable} partition table and no filesystem on the whole disk; it is not formatted (use it as a raw block volume, or wipe it yourself)`);
    }
    const args = fstype === 'xfs' ? ['-q', ...mkfsOptions, device] : ['-q', '-F', ...mkfsOptions, device];
    await this.exec.run(`mkfs.${fstype}`, args, { timeoutMs: 300_000 });
    return { formatted: true, fstype };
  }

  async mount(source: string, target: string, fstype: string, options: readonly string[]): Promise<void> {
    await mkdir(target, { recursive: true });
    if (await isMountPoint(target)) return;
    const args = ['-t', fstype, ...(options.length ? ['-o', options.join(',')] : []), source, target];
    await this.exec.run('mount', args);
  }

  /**
   * Bind mount; read-only binds need a remount to take effect, a second step a crash can separate from the
   * first: a bind found already mounted is made read-only here when asked (never the reverse).
   */
  async bindMount(source: string, target: string, readonly: boolean, options: readonly string[] = []): Promise<void> {
    if (await isMountPoint(target)) {
      if (readonly && !(await this.isReadOnly(target))) await this.remountReadOnly(target);
      return;
    }
    await this.exec.run('mount', ['--bind', source, target]);
    if (readonly || options.length) {
      await this.exec.run('mount', ['-o', ['remount', 'bind', ...(readonly ? ['ro'] : []), ...options].join(','), target]);
    }
  }

  /** Whether the mount on top at this path is read-only (its own flag, as /proc/self/mountinfo shows it). */
  async isReadOnly(mountPoint: string): Promise<boolean> {
    const top = (await readMountTable()).filter((m) => m.mountPoint === mountPoint).at(-1);
    if (!top) throw failedPrecondition(`${mountPoint} is not a mount point`);
    return top.options.split(',').includes('ro');
  }

  /** Makes this one mount point read-only; other mounts of the same filesystem keep their flags. */
  async remountReadOnly(mountPoint: string): Promise<void> {
    await this.exec.run('mount', ['-o', 'remount,bind,ro', mountPoint]);
  }

  /** Unmounts every mount stacked on the path; not mounted is not an error. */
  async unmount(target: string): Promise<void> {
    for (let i = 0; i < 8 && (await isMountPoint(target)); i++) {
      await this.exec.run('umount', [target], { timeoutMs: 60_000 });
    }
    if (await isMountPoint(target)) throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `${target} is still mounted after unmounting`);
  }

  async removeDir(path: string): Promise<void> {
    try {
      await rmdir(path);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }

  /** Grows a mounted filesystem to fill its device. */
  async growMounted(device: string, mountPath: string, fstype: string): Promise<void> {
    if (fstype === 'xfs') await this.exec.run('xfs_growfs', [mountPath]);
    else await this.exec.run('resize2fs', [device], { timeoutMs: 600_000 });
  }

  /** Grows an unmounted ext filesystem (xfs can only grow mounted). */
  async growUnmountedExt(device: string): Promise<void> {
    await this.exec.run('e2fsck', ['-f', '-p', device], { okCodes: [1], timeoutMs: 600_000 });
    await this.exec.run('resize2fs', [device], { timeoutMs: 600_000 });
  }

  async usage(path: string): Promise<FsUsage> {
    const s = await statfs(path);
    return {
      totalBytes: s.blocks * s.bsize,
      availableBytes: s.bavail * s.bsize,
      usedBytes: (s.blocks - s.bfree) * s.bsize,
      totalInodes: s.files,
      freeInodes: s.ffree,
      usedInodes: s.files - s.ffree,
    };
  }

  async blockDeviceSize(device: string): Promise<number> {
    return diskBytes(device);
  }
}
