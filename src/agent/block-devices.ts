// Finds virtio-blk disks. The runtime hot-plugs a disk with a `serial=`; the guest kernel shows it as
// /sys/block/vdX/serial (the first 20 bytes of it), with `dev` ("major:minor") and `size` (512-byte
// sectors) beside it, and devtmpfs creates /dev/vdX.
//
// Both directories are injectable so tests can run on a host without virtio disks: --sys-block DIR points
// at a fake tree whose DIR/vdX/serial is a plain file and whose DIR/vdX/dev and DIR/vdX/size are symlinks to
// /sys/block/loopN/{dev,size}, and --dev-dir DIR holds DIR/vdX -> /dev/loopN. The lookup then behaves exactly
// as in the guest, including a size that changes after `truncate` + `losetup -c`.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentError } from '../protocol/index.js';

/** virtio-blk passes at most 20 bytes of serial to the guest (VIRTIO_BLK_ID_BYTES). */
export const VIRTIO_SERIAL_BYTES = 20;
const DISK_NAME = /^vd[a-z]+$/;
const POLL_MS = 100;

export interface BlockDevice {
  /** Kernel name, e.g. "vdb". */
  readonly name: string;
  /** Device node, e.g. "/dev/vdb". */
  readonly devPath: string;
}

/** The port the agent uses to find disks; SysfsBlockDevices is the one implementation. */
export interface BlockDevices {
  /** Waits up to `waitMs` for a disk with this serial (and its device node) to appear. */
  findBySerial(serial: string, waitMs: number): Promise<BlockDevice>;
  /** The disk whose `dev` is `majMin`, if it is a virtio disk. */
  findByMajMin(majMin: string): Promise<BlockDevice | undefined>;
  /** The disk's size in bytes as the kernel sees it now. */
  sizeBytes(device: BlockDevice): Promise<number>;
}

export function serialMatches(reported: string, wanted: string): boolean {
  return reported === wanted || (wanted.length > VIRTIO_SERIAL_BYTES && reported === wanted.slice(0, VIRTIO_SERIAL_BYTES));
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export class SysfsBlockDevices implements BlockDevices {
  constructor(
    private readonly sysBlockDir: string,
    private readonly devDir: string,
  ) {}

  private async disks(): Promise<string[]> {
    try {
      return (await readdir(this.sysBlockDir)).filter((n) => DISK_NAME.test(n)).sort();
    } catch {
      return [];
    }
  }

  private async nodeExists(name: string): Promise<boolean> {
    try {
      return (await stat(join(this.devDir, name))).isBlockDevice();
    } catch {
      return false;
    }
  }

  private async scanSerial(serial: string): Promise<{ name: string; ready: boolean } | undefined> {
    for (const name of await this.disks()) {
      const reported = await readTrimmed(join(this.sysBlockDir, name, 'serial'));
      if (reported !== undefined && serialMatches(reported, serial)) return { name, ready: await this.nodeExists(name) };
    }
    return undefined;
  }

  async findBySerial(serial: string, waitMs: number): Promise<BlockDevice> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const found = await this.scanSerial(serial);
      if (found?.ready) return { name: found.name, devPath: join(this.devDir, found.name) };
      if (performance.now() >= deadline) {
        const why = found
          ? `disk ${found.name} has serial "${serial}" but ${join(this.devDir, found.name)} is not a block device`
          : `no virtio disk with serial "${serial}" appeared in ${this.sysBlockDir} within ${waitMs} ms`;
        throw new AgentError('NOT_FOUND', `${why}; check that the runtime hot-plugged the disk with serial=${serial}`);
      }
      await sleep(POLL_MS);
    }
  }

  async findByMajMin(majMin: string): Promise<BlockDevice | undefined> {
    for (const name of await this.disks()) {
      if ((await readTrimmed(join(this.sysBlockDir, name, 'dev'))) === majMin) return { name, devPath: join(this.devDir, name) };
    }
    return undefined;
  }

  async sizeBytes(device: BlockDevice): Promise<number> {
    const sectors = await readTrimmed(join(this.sysBlockDir, device.name, 'size'));
    if (sectors === undefined || !/^\d+$/.test(sectors)) {
      throw new AgentError('NOT_FOUND', `cannot read the size of ${device.name} from ${this.sysBlockDir}`);
    }
    return Number(sectors) * 512;
  }
}
