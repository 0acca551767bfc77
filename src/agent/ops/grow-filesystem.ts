// growFilesystem: ext4 (resize2fs on the disk) or xfs (xfs_growfs on the mount point), online.
import { AgentError } from '../../protocol/index.js';
import { fsUsage } from '../fs-usage.js';
import { growFilesystem as grow } from '../filesystem-grow.js';
import { checkGuestPath } from '../guest-paths.js';
import { mountKey, type Handler } from './handler.js';

const DEFAULT_WAIT_MS = 5000;

export const growFilesystem: Handler<'growFilesystem'> = (args, ctx) => {
  const path = checkGuestPath(args.path, 'growFilesystem path');
  return ctx.locks.run(mountKey(path), async () => {
    const host = ctx.paths.toHost(path);
    if (ctx.freezes.isFrozen(host)) throw new AgentError('FAILED_PRECONDITION', `${path} is frozen for a snapshot; grow it once the snapshot is done`);
    const { deviceBytes } = await grow(ctx.devices, ctx.run, {
      mountPoint: host,
      guestPath: path,
      ...(args.minDeviceBytes !== undefined ? { minDeviceBytes: args.minDeviceBytes } : {}),
      waitMs: args.waitMs ?? DEFAULT_WAIT_MS,
    });
    const { bytes } = await fsUsage(host);
    ctx.log.info({ path, deviceBytes, total: bytes.total }, 'filesystem grown');
    return { bytes, deviceBytes };
  });
};
