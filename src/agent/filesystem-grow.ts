// Grows a mounted ext4 or xfs filesystem to the size of its virtio disk. The guest kernel learns of a host
// block_resize by itself, a little later, so the agent first checks the disk's size in sysfs and, when the
// caller says how big the disk should be, waits briefly until the kernel reports it.
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentError } from '../protocol/index.js';
import type { BlockDevices } from './block-devices.js';
import { mountAt } from './mount-table.js';
import type { RunCommand } from './run-command.js';

const POLL_MS = 100;

export interface GrowRequest {
  /** Host path of the mount point. */
  readonly mountPoint: string;
  /** The guest path, for messages. */
  readonly guestPath: string;
  readonly minDeviceBytes?: number;
  readonly waitMs: number;
}

export async function growFilesystem(devices: BlockDevices, run: RunCommand, req: GrowRequest): Promise<{ deviceBytes: number }> {
  const mount = await mountAt(req.mountPoint);
  if (!mount) throw new AgentError('NOT_FOUND', `nothing is mounted at ${req.guestPath}`);
  if (mount.fstype !== 'ext4' && mount.fstype !== 'xfs') {
    throw new AgentError('FAILED_PRECONDITION', `${req.guestPath} is ${mount.fstype}; only ext4 and xfs can be grown`);
  }
  const device = await devices.findByMajMin(mount.majMin);
  if (!device) throw new AgentError('FAILED_PRECONDITION', `${req.guestPath} is not on a virtio disk (device ${mount.majMin})`);
  let deviceBytes = await devices.sizeBytes(device);
  if (req.minDeviceBytes !== undefined) {
    const deadline = performance.now() + req.waitMs;
    while (deviceBytes < req.minDeviceBytes) {
      if (performance.now() >= deadline) {
        throw new AgentError(
          'FAILED_PRECONDITION',
          `disk ${device.name} is ${deviceBytes} bytes, not the ${req.minDeviceBytes} asked for, after ${req.waitMs} ms; resize the disk on the host first`,
        );
      }
      await sleep(POLL_MS);
      deviceBytes = await devices.sizeBytes(device);
    }
  }
  if (mount.fstype === 'ext4') {
    await run('resize2fs', [device.devPath], { timeoutMs: 300_000 });
  } else {
    await run('xfs_growfs', ['-d', req.mountPoint], { timeoutMs: 300_000 });
  }
  return { deviceBytes };
}
