// What a sandbox's monitor socket does for its passed-through volumes: stats from the guest filesystem,
// and online resize (grow the disk in QEMU, then the filesystem in the guest, answered once the container
// sees the new size). A disk only grows; sizes are rounded up to whole 512-byte sectors, as QEMU needs.
// Freeze and thaw hold a disk's guest filesystem still while the CSI driver copies the disk for a snapshot.
import { diskBytes } from '../../common/block-devices.js';
import { PassvolError, notFound } from '../../common/errors.js';
import type { AgentClient } from '../agent-client.js';
import type { DirectVolumeOps } from '../monitor/monitor-server.js';
import type { AttachedVolume, BlockHotplug } from '../volumes/sandbox-volume.js';

const SECTOR = 512;
/** The guest writes out what is dirty before its filesystem is frozen. */
const FREEZE_CALL_MS = 130_000;

export interface VolumeOpsContext {
  sandbox: string;
  attached(): readonly AttachedVolume[];
  agent(): AgentClient;
  vm(): BlockHotplug;
}

export function directVolumeOps(c: VolumeOpsContext): DirectVolumeOps {
  const byDevice = (device: string): AttachedVolume => {
    const v = c.attached().find((a) => a.device === device && a.kind !== 'shared');
    if (!v) throw notFound(`no volume with device ${device} in sandbox ${c.sandbox}`);
    return v;
  };
  const diskOf = (device: string, what: string): AttachedVolume & { hotplugId: string } => {
    const v = byDevice(device);
    if (v.kind !== 'direct-block' || !v.hotplugId) throw new PassvolError('PV_ERR_UNIMPLEMENTED', `volume ${device} is not a disk; only disks are ${what}`);
    return { ...v, hotplugId: v.hotplugId };
  };
  return {
    stats: async (device) => {
      const v = byDevice(device);
      return (await c.agent().call('statfs', { path: v.guestPath })) as { bytes: { total: number; used: number; available: number }; inodes: { total: number; used: number; available: number } };
    },
    freeze: async (device, leaseMs, renew) => {
      await c.agent().call('freezeFilesystem', { path: diskOf(device, 'frozen for snapshots').guestPath, leaseMs, ...(renew ? { renew } : {}) }, FREEZE_CALL_MS);
    },
    thaw: async (device) => {
      const r = (await c.agent().call('thawFilesystem', { path: diskOf(device, 'frozen for snapshots').guestPath }, FREEZE_CALL_MS)) as { heldThroughout: boolean };
      return r.heldThroughout;
    },
    resize: async (device, size) => {
      const v = diskOf(device, 'resized');
      const bytes = Math.ceil(size / SECTOR) * SECTOR;
      const current = await diskBytes(device);
      if (bytes < current) throw new PassvolError('PV_ERR_OUT_OF_RANGE', `volume ${device} is ${current} bytes and can only grow; ${size} bytes would shrink it`);
      await c.vm().resizeBlock(v.hotplugId, bytes);
      await c.agent().call('growFilesystem', { path: v.guestPath, minDeviceBytes: bytes, waitMs: 30_000 }, 120_000);
    },
  };
}
