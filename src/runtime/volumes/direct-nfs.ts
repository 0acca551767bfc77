// A passed-through NFS export: the guest kernel mounts it over the sandbox's forward to the server; the
// host mounts nothing.
import { failedPrecondition } from '../../common/errors.js';
import { guestMountOptions } from './guest-options.js';
import { guestNfsOptions, splitNfsDevice } from './nfs-forwarding.js';
import { GUEST_VOLUME_ROOT, type AttachedVolume, type SandboxVolume, type VolumeContext } from './sandbox-volume.js';
import { readonlyMount, type PlannedMount } from './volume-plan.js';

export const directNfs: SandboxVolume = {
  kind: 'direct-nfs',
  matches: (p) => p.kind === 'direct-nfs',
  async attach(plan: PlannedMount, ctx: VolumeContext): Promise<AttachedVolume> {
    if (plan.kind !== 'direct-nfs') throw new Error('directNfs.attach on a mount that is not a direct NFS volume');
    const { record } = plan;
    const { server, path } = splitNfsDevice(record.mountInfo.device);
    const forward = ctx.forwards.find((f) => f.server === server);
    if (!forward) throw failedPrecondition(`sandbox ${ctx.sandboxId} has no network route to NFS server ${server}`);
    const fstype = record.mountInfo.fstype === 'nfs4' ? 'nfs4' : 'nfs';
    const options = guestNfsOptions(guestMountOptions(record.mountInfo.options, readonlyMount(plan.mount)), fstype, forward);
    await ctx.binding.bind(record.volumePath, ctx.sandboxId);
    const target = `${GUEST_VOLUME_ROOT}/${ctx.nextName()}`;
    try {
      await ctx.agent.call('mount', { source: { kind: 'nfs', server: forward.guestAddress, path, fstype, options }, target, fstype, options: [] }, 60_000);
    } catch (e) {
      await ctx.binding.release(record.volumePath, ctx.sandboxId);
      throw e;
    }
    return {
      readonly: readonlyMount(plan.mount),
      kind: 'direct-nfs',
      guestPath: target,
      volumePath: record.volumePath,
      device: record.mountInfo.device,
      fstype,
      detach: async () => {
        await ctx.agent.call('unmount', { target });
        await ctx.binding.release(record.volumePath, ctx.sandboxId);
      },
    };
  },
};
