// NodeGetVolumeStats: a passed-through volume reports the guest filesystem (from the sandbox's monitor
// socket) or, before any sandbox mounts it, its superblock; a host volume reports statfs of the mount.
import { stat } from 'node:fs/promises';
import { VolumeStatsSchema } from '../../directvolume/index.js';
import { notFound } from '../../common/errors.js';
import type { FsUsage } from '../host/mounter.js';
import { isMountPoint, readMountTable } from '../../common/mount-table.js';
import { offlineUsage } from '../host/offline-usage.js';
import type { NodeContext } from './node-context.js';

export interface CsiUsage {
  available: number;
  total: number;
  used: number;
  unit: 'BYTES' | 'INODES';
}
export interface StatsAnswer {
  usage: CsiUsage[];
  volume_condition: { abnormal: boolean; message: string };
}

function toCsi(u: FsUsage, message: string, abnormal = false): StatsAnswer {
  return {
    usage: [
      { available: u.availableBytes, total: u.totalBytes, used: u.usedBytes, unit: 'BYTES' },
      { available: u.freeInodes, total: u.totalInodes, used: u.usedInodes, unit: 'INODES' },
    ],
    volume_condition: { abnormal, message },
  };
}

export async function volumeStats(ctx: NodeContext, volumeId: string, volumePath: string): Promise<StatsAnswer> {
  const st = await stat(volumePath).catch(() => undefined);
  if (!st) throw notFound(`volume path ${volumePath} of ${volumeId} does not exist`);
  const record = await ctx.records.find(volumePath);
  if (record) {
    const { device, fstype } = record.mountInfo;
    if (record.sandboxId) {
      const body = VolumeStatsSchema.parse(JSON.parse(await ctx.monitor.stats(record.sandboxId, device)));
      return {
        usage: (body.usage ?? []).map((u) => ({ available: u.available ?? 0, total: u.total ?? 0, used: u.used ?? 0, unit: u.unit === 2 ? 'INODES' : 'BYTES' })),
        volume_condition: { abnormal: body.volume_condition?.abnormal ?? false, message: `passed through to sandbox ${record.sandboxId}: ${body.volume_condition?.message ?? 'OK'}` },
      };
    }
    if (record.mountInfo['volume-type'] !== 'nfs') {
      return toCsi(await offlineUsage(ctx.exec, device, fstype), 'passed through; no sandbox has mounted it yet (usage read from the superblock)');
    }
    const usage = await ctx.backend.usage?.(volumeId, {});
    const message = 'passed through; no sandbox has mounted it yet';
    return usage ? toCsi(usage, `${message} (usage of the whole export)`) : { usage: [], volume_condition: { abnormal: false, message } };
  }
  if (st.isFile() || st.isBlockDevice()) {
    const entry = (await readMountTable()).find((m) => m.mountPoint === volumePath);
    const device = entry ? `/dev/${entry.root.replace(/^\//, '')}` : volumePath;
    const total = await ctx.mounter.blockDeviceSize(device).catch(() => 0);
    return { usage: [{ available: 0, total, used: 0, unit: 'BYTES' }], volume_condition: { abnormal: !entry, message: entry ? 'raw block device' : 'raw block volume is not mounted' } };
  }
  const mounted = await isMountPoint(volumePath);
  return toCsi(await ctx.mounter.usage(volumePath), mounted ? 'mounted' : 'volume path is not a mount point', !mounted);
}
