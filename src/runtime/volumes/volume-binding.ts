// Binding a direct volume to a sandbox (the seeds' step 4): the record names the sandbox that uses the
// volume, another live sandbox is refused, a dead one's binding is taken over, and a block device must be
// free on the host before a guest may have it.
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { PassvolError, failedPrecondition } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
import type { Logger } from '../../common/logger.js';
import { mountsOfDevice } from '../../common/mount-table.js';
import { socketAnswers } from '../../common/socket-probe.js';
import type { RecordStore } from '../../directvolume/index.js';
import { runtimeAlive, vmAlive, type SandboxDirs } from '../sandbox/sandbox-dir.js';

export class VolumeBinding {
  constructor(
    private readonly records: RecordStore,
    private readonly sandboxes: SandboxDirs,
    private readonly exec: Exec,
    private readonly log: Logger,
    /** Monitor sockets where another runtime's sandbox would answer (Kata's Go and Rust shims). */
    private readonly monitorSockets: (sandboxId: string) => string[] = () => [],
  ) {}

  private async answersAsSandbox(id: string): Promise<boolean> {
    for (const path of this.monitorSockets(id)) {
      if (await socketAnswers(path)) return true;
    }
    return false;
  }

  async bind(volumePath: string, sandboxId: string): Promise<void> {
    const holder = await this.records.sandboxOf(volumePath);
    if (holder && holder !== sandboxId) {
      const state = await this.sandboxes.read(holder).catch(() => undefined);
      if (state && runtimeAlive(state)) {
        throw failedPrecondition(`volume ${volumePath} is in use by running sandbox ${holder}; a passed-through volume serves one sandbox at a time`);
      }
      if (state && vmAlive(state.vmPid, this.sandboxes.dir(holder))) {
        throw failedPrecondition(`volume ${volumePath} is still plugged into the VM of sandbox ${holder}, whose runtime is gone; run \`passvol gc\` first`);
      }
      // Not a passvol sandbox: Kata's runtimes bind volumes the same way; one that still answers holds it.
      if (!state && (await this.answersAsSandbox(holder))) {
        throw failedPrecondition(`volume ${volumePath} is bound to sandbox ${holder}, which passvol did not start and which still answers on its monitor socket`);
      }
      this.log.warn({ volumePath, holder }, 'taking over the binding of a sandbox that is gone');
      await this.records.releaseSandbox(volumePath, holder);
    }
    await this.records.recordSandbox(volumePath, sandboxId);
  }

  async release(volumePath: string, sandboxId: string): Promise<void> {
    await this.records.releaseSandbox(volumePath, sandboxId);
  }

  /**
   * Seeds' step 4: nothing on the host may hold the device. A mount of it here is undone (a busy one is
   * refused); then an exclusive open proves nothing else holds it: a mount in another mount namespace,
   * device-mapper, md, or a tool such as mkfs. The open is closed at once: QEMU opens the disk itself.
   */
  async freeOnHost(device: string): Promise<void> {
    const st = await stat(device).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw failedPrecondition(`device ${device} named by the record does not exist on this host`);
      throw e;
    });
    if (!st.isBlockDevice()) throw failedPrecondition(`device ${device} named by the record is not a block device`);
    const mounts = await mountsOfDevice(device);
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
    const exclusive = await open(device, constants.O_RDONLY | constants.O_EXCL).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EBUSY') throw e;
      throw failedPrecondition(
        `device ${device} is held on the host by something else (a mount in another mount namespace, device-mapper, md, or a tool with it open exclusively); free it first`,
      );
    });
    await exclusive.close();
  }
}
