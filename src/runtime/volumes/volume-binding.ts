// Binding a direct volume to a sandbox (the seeds' step 4): the record names the sandbox that uses the
// volume, another live sandbox is refused, a dead one's binding is taken over, and a block device must be
// free on the host before a guest may have it.
import { PassvolError, failedPrecondition } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
import type { Logger } from '../../common/logger.js';
import { mountsOfDevice } from '../../common/mount-table.js';
import type { RecordStore } from '../../directvolume/index.js';
import { isAlive, type SandboxDirs } from '../sandbox/sandbox-dir.js';

export class VolumeBinding {
  constructor(
    private readonly records: RecordStore,
    private readonly sandboxes: SandboxDirs,
    private readonly exec: Exec,
    private readonly log: Logger,
  ) {}

  async bind(volumePath: string, sandboxId: string): Promise<void> {
    const holder = await this.records.sandboxOf(volumePath);
    if (holder && holder !== sandboxId) {
      const state = await this.sandboxes.read(holder).catch(() => undefined);
      if (state && isAlive(state.runtimePid)) {
        throw failedPrecondition(`volume ${volumePath} is in use by running sandbox ${holder}; a passed-through volume serves one sandbox at a time`);
      }
      this.log.warn({ volumePath, holder }, 'taking over the binding of a sandbox that is gone');
      await this.records.releaseSandbox(volumePath, holder);
    }
    await this.records.recordSandbox(volumePath, sandboxId);
  }

  async release(volumePath: string, sandboxId: string): Promise<void> {
    await this.records.releaseSandbox(volumePath, sandboxId);
  }

  /** Seeds' step 4: nothing on the host may hold the device. A mount is undone; a busy one is refused. */
  async freeOnHost(device: string): Promise<void> {
    const mounts = await mountsOfDevice(device).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw failedPrecondition(`device ${device} named by the record does not exist on this host`);
      throw e;
    });
    for (const m of mounts.sort((a, b) => b.mountPoint.length - a.mountPoint.length)) {
      this.log.info({ device, mountPoint: m.mountPoint }, 'unmounting the device on the host before passing it to the guest');
      try {
        await this.exec.run('umount', [m.mountPoint], { timeoutMs: 30_000 });
      } catch (e) {
        throw new PassvolError(
          'PV_ERR_FAILED_PRECONDITION',
          `device ${device} is mounted at ${m.mountPoint} on the host and cannot be unmounted (${(e as Error).message}); stop what uses it first`,
        );
      }
    }
  }
}
