// NodeStage/NodePublish on the ordinary host path: format if new, mount at the staging path, bind-mount to
// the target (read-only when asked); raw block volumes bind the device node onto a file.
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode, failedPrecondition, invalidArgument } from '../../common/errors.js';
import { VOLUME_CONTEXT, type NodeVolumeSource } from '../backends/backend.js';
import type { VolumeAccess } from '../capabilities.js';
import type { Params } from '../csi-types.js';
import { applyFsGroup, fsGroupApplied, type FsGroupChangePolicy } from '../host/fs-group.js';
import { bindMountsOfDeviceNode, isMountPoint, mountsOfDevice } from '../../common/mount-table.js';
import { mkfsArgs } from '../backends/disk/disk-parameters.js';
import type { NodeContext } from './node-context.js';
import { PublishIndex } from './publish-index.js';

const HOST_ONLY_FLAGS = new Set(['bind', 'rbind']);

export function hostMountFlags(access: VolumeAccess): string[] {
  return access.mountFlags.flatMap((f) => f.split(',')).map((f) => f.trim()).filter((f) => f && !HOST_ONLY_FLAGS.has(f));
}

/** Formats a new disk (both paths need a filesystem); an existing filesystem is never touched. */
export async function prepareFilesystem(ctx: NodeContext, volumeId: string, device: string, access: VolumeAccess, volumeContext: Params): Promise<void> {
  const r = await ctx.mounter.formatIfNew(device, access.fsType, mkfsArgs(volumeContext[VOLUME_CONTEXT.mkfsOptions]));
  if (r.formatted) ctx.log.info({ volumeId, device, fstype: r.fstype }, 'formatted new volume');
}

export async function mountStaging(ctx: NodeContext, device: string, stagingPath: string, access: VolumeAccess): Promise<void> {
  await ctx.mounter.mount(device, stagingPath, access.fsType, hostMountFlags(access));
}

export interface HostPublish {
  volumeId: string;
  targetPath: string;
  stagingPath: string | undefined;
  access: VolumeAccess;
  readonly: boolean;
  source: NodeVolumeSource;
  volumeContext: Params;
  /** The pod's, when it set one; Always (walk every file) otherwise. */
  fsGroupChangePolicy?: FsGroupChangePolicy;
}

export async function publishOnHost(ctx: NodeContext, p: HostPublish): Promise<void> {
  if (await isMountPoint(p.targetPath)) return republish(ctx, p);
  const { source } = p;
  if (source.kind === 'block') {
    // A disk passed through to a sandbox is mounted in its guest: never mount it on the host as well.
    const holder = await new PublishIndex(ctx.records, ctx.config.driverName).holder(p.volumeId);
    if (holder !== undefined && holder !== p.targetPath) {
      throw failedPrecondition(`volume ${p.volumeId} is passed through to a sandbox at ${holder}; a disk is never mounted on the host and in a guest at once: unpublish it there first`);
    }
  }
  if (source.kind === 'block' && p.access.mode === 'SINGLE_NODE_SINGLE_WRITER') await refuseSecondTarget(source.devicePath, p);
  if (source.kind === 'block' && p.access.kind === 'block') {
    await mkdir(dirname(p.targetPath), { recursive: true });
    await (await open(p.targetPath, 'a', 0o640)).close();
    await ctx.mounter.bindMount(source.devicePath, p.targetPath, p.readonly);
    return;
  }
  await mkdir(p.targetPath, { recursive: true, mode: 0o750 });
  if (source.kind === 'block') {
    if (!p.stagingPath) throw invalidArgument('staging_target_path is required for disk volumes');
    // A volume staged for a sandbox earlier is not mounted on the host: mount it now.
    if (!(await isMountPoint(p.stagingPath))) {
      await prepareFilesystem(ctx, p.volumeId, source.devicePath, p.access, p.volumeContext);
      await mountStaging(ctx, source.devicePath, p.stagingPath, p.access);
    }
    await ctx.mounter.bindMount(p.stagingPath, p.targetPath, p.readonly);
  } else {
    const options = [...source.mountOptions, ...hostMountFlags(p.access), ...(p.readonly ? ['ro'] : [])];
    await ctx.mounter.mount(`${source.server}:${source.exportPath}`, p.targetPath, source.fstype, options);
  }
  const gid = fsGroupOf(p);
  if (gid !== undefined) await applyFsGroupOrSay(ctx, p, gid);
  else if (p.access.volumeMountGroup) {
    ctx.log.warn({ volumeId: p.volumeId, target: p.targetPath, fsGroup: p.access.volumeMountGroup }, 'fsGroup not applied: the volume is published read-only');
  }
}

/**
 * The target is mounted already: a repeated call, or one after a crash that may have cut the publish short
 * between its steps. Finishes what is missing instead of trusting the mount point.
 */
async function republish(ctx: NodeContext, p: HostPublish): Promise<void> {
  const readonlyNow = await ctx.mounter.isReadOnly(p.targetPath);
  if (readonlyNow && !p.readonly) {
    throw failedPrecondition(`target ${p.targetPath} is already mounted read-only, but this publish asks for read-write; unpublish it (NodeUnpublishVolume) and publish it again`);
  }
  if (p.readonly && !readonlyNow) {
    ctx.log.warn({ volumeId: p.volumeId, target: p.targetPath }, 'a read-only publish was left writable (cut short between bind and remount): making it read-only');
    await ctx.mounter.remountReadOnly(p.targetPath);
  }
  const gid = fsGroupOf(p);
  if (gid !== undefined && !(await fsGroupApplied(p.targetPath, gid))) {
    ctx.log.info({ volumeId: p.volumeId, target: p.targetPath, fsGroup: gid }, 'the mounted target lacks its fsGroup (an earlier publish was cut short): applying it');
    await applyFsGroupOrSay(ctx, p, gid);
  }
}

/**
 * The gid to apply, if any. Kubelet applies no fsGroup to a read-only volume, and neither does this: a
 * read-only pod on a shared volume must not rewrite groups and modes under every other pod.
 */
function fsGroupOf(p: HostPublish): number | undefined {
  // parse-request checked it is a decimal gid.
  return p.access.volumeMountGroup && !p.readonly ? Number(p.access.volumeMountGroup) : undefined;
}

/** A filesystem that is itself read-only (a disk attached read-only) keeps its groups, as kubelet leaves it. */
async function applyFsGroupOrSay(ctx: NodeContext, p: HostPublish, gid: number): Promise<void> {
  try {
    const walked = await applyFsGroup(p.targetPath, gid, p.fsGroupChangePolicy);
    if (!walked) ctx.log.info({ volumeId: p.volumeId, target: p.targetPath, fsGroup: gid }, 'fsGroup not walked: the volume root has it already (fsGroupChangePolicy OnRootMismatch)');
  } catch (e) {
    if (errnoCode(e) !== 'EROFS') throw e;
    ctx.log.warn({ volumeId: p.volumeId, target: p.targetPath, fsGroup: gid }, 'the volume\'s filesystem is read-only: fsGroup not applied, files keep their groups');
  }
}

/** SINGLE_NODE_SINGLE_WRITER (ReadWriteOncePod): one target at a time. */
async function refuseSecondTarget(device: string, p: HostPublish): Promise<void> {
  const mounts = p.access.kind === 'block' ? await bindMountsOfDeviceNode(device) : await mountsOfDevice(device);
  const others = mounts.filter((m) => m.mountPoint !== p.stagingPath && m.mountPoint !== p.targetPath);
  if (others.length > 0) {
    throw failedPrecondition(`volume ${p.volumeId} is single-writer (ReadWriteOncePod) and already published at ${others.map((m) => m.mountPoint).join(', ')}`);
  }
}
