// NodePublish on the passthrough path: the volume is prepared but NOT mounted on the host; a Kata-compatible
// record keyed by the target path tells the runtime what to hand to the guest.
import { mkdir } from 'node:fs/promises';
import { failedPrecondition } from '../../common/errors.js';
import type { MountInfo } from '../../directvolume/index.js';
import type { NodeVolumeSource } from '../backends/backend.js';
import type { VolumeAccess } from '../capabilities.js';
import type { FsGroupChangePolicy } from '../host/fs-group.js';
import { PASSTHROUGH_DISK_MODES } from '../csi-types.js';
import { mountsOfDevice, readMountTable, type MountEntry } from '../../common/mount-table.js';
import { PublishIndex } from './publish-index.js';
import { RECORD_METADATA, type NodeContext } from './node-context.js';
import { guestMountOptions } from './guest-mount-options.js';

export interface PassthroughPublish {
  volumeId: string;
  targetPath: string;
  stagingPath: string | undefined;
  access: VolumeAccess;
  readonly: boolean;
  source: NodeVolumeSource;
  /** The pod's, when it set one (kubelet does not send it; NodePublish reads it from the API server). */
  fsGroupChangePolicy?: FsGroupChangePolicy;
}

export async function publishPassthrough(ctx: NodeContext, p: PassthroughPublish): Promise<void> {
  const mounts = await readMountTable();
  if (p.source.kind === 'block') await guardDisk(ctx, p, p.source.devicePath, mounts);
  else if (p.access.mode === 'SINGLE_NODE_SINGLE_WRITER') await claimOnly(ctx, p, 'it is single-writer (ReadWriteOncePod)');
  if (mounts.some((m) => m.mountPoint === p.targetPath)) {
    throw failedPrecondition(`target ${p.targetPath} is already mounted on the host; unpublish it before publishing it for a sandbox`);
  }
  await mkdir(p.targetPath, { recursive: true, mode: 0o750 });
  await ctx.records.add(p.targetPath, mountInfoFor(ctx, p));
}

/** The record of a publish: what the runtime hands to the guest and how. */
export function mountInfoFor(ctx: Pick<NodeContext, 'config'>, p: PassthroughPublish): MountInfo {
  const metadata: Record<string, string> = { [RECORD_METADATA.volumeId]: p.volumeId, [RECORD_METADATA.driver]: ctx.config.driverName };
  if (p.access.volumeMountGroup) metadata[RECORD_METADATA.fsGroup] = p.access.volumeMountGroup;
  if (p.source.kind === 'block') {
    if (p.access.volumeMountGroup && p.fsGroupChangePolicy) metadata[RECORD_METADATA.fsGroupChangePolicy] = p.fsGroupChangePolicy;
    return {
      'volume-type': ctx.config.diskVolumeType,
      device: p.source.devicePath,
      fstype: p.access.fsType,
      metadata,
      options: guestMountOptions(p.access.mountFlags, p.readonly),
    };
  }
  return {
    'volume-type': 'nfs',
    device: `${p.source.server}:${p.source.exportPath}`,
    fstype: p.source.fstype,
    metadata,
    options: guestMountOptions([...p.source.mountOptions, ...p.access.mountFlags], p.readonly),
  };
}

/**
 * For a disk whose record is written already (a repeated publish, or kubelet's re-publish after it
 * restarted and staged again): the same guard, so the disk is still not mounted on the host.
 */
export async function guardPublishedDisk(ctx: NodeContext, p: PassthroughPublish): Promise<void> {
  if (p.source.kind === 'block') await guardDisk(ctx, p, p.source.devicePath, await readMountTable());
}

/** One pod, one target, and no host mount: a disk is never mounted on the host and in a guest at once. */
async function guardDisk(ctx: NodeContext, p: PassthroughPublish, device: string, table: MountEntry[]): Promise<void> {
  let mounts = table;
  if (!PASSTHROUGH_DISK_MODES.includes(p.access.mode)) {
    throw failedPrecondition(
      `access mode ${p.access.mode} cannot be passed through: a passed-through disk serves one sandbox; use ${PASSTHROUGH_DISK_MODES.join(', ')} (ReadWriteOncePod or ReadWriteOnce)`,
    );
  }
  // Mounted anywhere but our own staging path (a pod using it on the host): refuse before touching anything.
  const elsewhere = (await mountsOfDevice(device, mounts)).filter((m) => m.mountPoint !== p.stagingPath);
  if (elsewhere.length > 0) {
    throw failedPrecondition(`device ${device} is mounted on the host at ${elsewhere.map((m) => m.mountPoint).join(', ')}; it cannot also go to a sandbox`);
  }
  await claimOnly(ctx, p, 'a passed-through disk is published to one target only');
  if (p.stagingPath && mounts.some((m) => m.mountPoint === p.stagingPath)) {
    ctx.log.info({ volumeId: p.volumeId, stagingPath: p.stagingPath }, 'unmounting the staging mount: a passed-through disk must not stay mounted on the host');
    await ctx.mounter.unmount(p.stagingPath);
    mounts = await readMountTable();
  }
  const held = await mountsOfDevice(device, mounts);
  if (held.length > 0) {
    throw failedPrecondition(`device ${device} is mounted on the host at ${held.map((m) => m.mountPoint).join(', ')}; it cannot also go to a sandbox`);
  }
}

async function claimOnly(ctx: NodeContext, p: PassthroughPublish, why: string): Promise<void> {
  const holder = await new PublishIndex(ctx.records, ctx.config.driverName).claim(p.volumeId, p.targetPath);
  if (holder !== undefined) throw failedPrecondition(`volume ${p.volumeId} is already passed through at ${holder}; ${why}`);
}
