// A passed-through disk: bound to the sandbox in its record, freed on the host, hot-plugged as virtio-blk
// with a serial, mounted by the guest agent with the record's fstype, options and fsGroup. Every step is
// undone if a later one fails, in reverse, so a failed attach leaves nothing bound, plugged or mounted.
import { failedPrecondition } from '../../common/errors.js';
import { GUEST_VOLUME_ROOT, type AttachedVolume, type SandboxVolume, type VolumeContext } from './sandbox-volume.js';
import type { PlannedMount } from './volume-plan.js';
import { readonlyMount } from './volume-plan.js';
import { guestMountOptions } from './guest-options.js';

/**
 * A mount may wait for the device, grow the filesystem to the disk and walk every file for fsGroup: on a
 * large volume under TCG that is minutes, not the 30 s an ordinary agent call gets.
 */
const MOUNT_CALL_MS = 300_000;

export const directBlock: SandboxVolume = {
  kind: 'direct-block',
  matches: (p) => p.kind === 'direct-block',
  async attach(plan: PlannedMount, ctx: VolumeContext): Promise<AttachedVolume> {
    if (plan.kind !== 'direct-block') throw new Error('directBlock.attach on a mount that is not a direct disk');
    const { record } = plan;
    const { device, fstype } = record.mountInfo;
    if (!device.startsWith('/')) throw failedPrecondition(`record ${record.volumePath} names device "${device}", not a block device path`);
    const name = ctx.nextName();
    const undo: (() => Promise<void>)[] = [];
    // Last step first, and each only once the one after it is undone: a disk is never unplugged while the
    // guest may still have it mounted, nor released while it is still plugged. A failed step stops it (and
    // is tried again by the next detach); what is left goes with the VM when the sandbox ends.
    const rollback = async () => {
      while (undo.length > 0) {
        await (undo[undo.length - 1] as () => Promise<void>)();
        undo.pop();
      }
    };
    try {
      await ctx.binding.bind(record.volumePath, ctx.sandboxId);
      undo.push(() => ctx.binding.release(record.volumePath, ctx.sandboxId));
      await ctx.binding.freeOnHost(device);
      // Read-only when the container mount or the record says so (record entries may be comma-joined).
      const options = guestMountOptions(record.mountInfo.options, readonlyMount(plan.mount));
      const readonly = options.includes('ro');
      const serial = `pv-${name}`;
      await ctx.vm.hotplugBlock({ id: name, path: device, serial, readonly, ...(ctx.blockBackend ? { backend: ctx.blockBackend } : {}) });
      undo.push(() => ctx.vm.unplugBlock(name));
      const target = `${GUEST_VOLUME_ROOT}/${name}`;
      // The agent serialises mount and unmount of one target, so this waits for a mount still running (one
      // that outlived the call's timeout) and undoes it before the disk is unplugged under it.
      const unmountInGuest = async () => void (await ctx.agent.call('unmount', { target }, MOUNT_CALL_MS));
      undo.push(unmountInGuest);
      const fsGroup = record.mountInfo.metadata?.fsGroup;
      const policy = record.mountInfo.metadata?.fsGroupChangePolicy;
      await ctx.agent.call('mount', {
        source: { kind: 'block', serial },
        target,
        fstype,
        options,
        ...(fsGroup ? { fsGroup: Number(fsGroup) } : {}),
        ...(policy === 'Always' || policy === 'OnRootMismatch' ? { fsGroupChangePolicy: policy } : {}),
        // The disk may have grown while no sandbox used it: the guest grows the filesystem at mount.
        growToDevice: !readonly,
      }, MOUNT_CALL_MS);
      return {
        kind: 'direct-block',
        guestPath: target,
        volumePath: record.volumePath,
        device,
        hotplugId: name,
        fstype,
        readonly,
        // A refused unmount (a container still has it) keeps the disk plugged: it is never pulled from under a mount.
        detach: async () => {
          await unmountInGuest();
          await rollback();
        },
      };
    } catch (e) {
      await rollback().catch((r: Error) => ctx.log.warn({ err: r.message, volume: record.volumePath }, 'undoing a failed attach stopped: the disk stays plugged and bound until the sandbox ends'));
      throw e;
    }
  },
};
