// NodeExpandVolume: grow the filesystem where it is mounted. A passed-through volume in a sandbox grows
// through the sandbox's monitor socket (guest block resize + online grow); one no sandbox uses yet only
// needs the device grown, and the guest grows the filesystem when it mounts it.
import { stat } from 'node:fs/promises';
import { failedPrecondition, notFound } from '../../common/errors.js';
import { readMountTable } from '../../common/mount-table.js';
import type { NodeContext } from './node-context.js';

/**
 * The device's size once it is at least `requiredBytes`: the controller may have grown the disk while this
 * node's attachment still shows the old size (a loop device is told with --set-capacity), so refresh once.
 * A disk that is still smaller was not expanded: say so rather than report a grow that did not happen.
 */
async function grownDeviceSize(ctx: NodeContext, volumeId: string, device: string, requiredBytes: number): Promise<number> {
  let size = await ctx.mounter.blockDeviceSize(device);
  if (size >= requiredBytes) return size;
  await ctx.backend.refreshDeviceSize?.(volumeId, { kind: 'block', devicePath: device });
  size = await ctx.mounter.blockDeviceSize(device);
  if (size < requiredBytes) {
    throw failedPrecondition(`device ${device} of ${volumeId} is ${size} bytes, less than the ${requiredBytes} asked: ControllerExpandVolume must grow the disk first`);
  }
  return size;
}

export async function expandOnNode(ctx: NodeContext, volumeId: string, volumePath: string, requiredBytes: number): Promise<number> {
  const st = await stat(volumePath).catch(() => undefined);
  if (!st) throw notFound(`volume path ${volumePath} of ${volumeId} does not exist`);
  const record = await ctx.records.find(volumePath);
  if (record) {
    const { device } = record.mountInfo;
    if (record.mountInfo['volume-type'] === 'nfs') return requiredBytes;
    const size = await grownDeviceSize(ctx, volumeId, device, requiredBytes);
    if (record.sandboxId) {
      ctx.log.info({ volumeId, sandbox: record.sandboxId, bytes: size }, 'asking the sandbox to grow the passed-through volume online');
      await ctx.monitor.resize(record.sandboxId, device, size);
    } else {
      ctx.log.info({ volumeId, bytes: size }, 'no sandbox uses the volume: the guest grows the filesystem when it mounts it');
    }
    return size;
  }
  const entry = (await readMountTable()).find((m) => m.mountPoint === volumePath);
  if (!entry) throw notFound(`volume path ${volumePath} is not mounted`);
  if (st.isFile() || st.isBlockDevice()) return grownDeviceSize(ctx, volumeId, `/dev/${entry.root.replace(/^\//, '')}`, requiredBytes);
  const size = await grownDeviceSize(ctx, volumeId, entry.source, requiredBytes);
  await ctx.mounter.growMounted(entry.source, volumePath, entry.fstype);
  return size;
}
