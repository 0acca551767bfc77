// A host folder that is not passed through reaches the guest over the sandbox's shared filesystem
// (virtio-fs, 9p as fallback), mounted at boot; a file is reached through its folder's share.
import { basename, dirname } from 'node:path';
import { failedPrecondition } from '../../common/errors.js';
import type { AttachedVolume, SandboxVolume, VolumeContext } from './sandbox-volume.js';
import type { PlannedMount } from './volume-plan.js';

export const sharedVolume: SandboxVolume = {
  kind: 'shared',
  matches: (p) => p.kind === 'shared',
  async attach(plan: PlannedMount, ctx: VolumeContext): Promise<AttachedVolume> {
    if (plan.kind !== 'shared') throw new Error('sharedVolume.attach on a mount that is not shared');
    const direct = ctx.shares.get(plan.hostPath);
    const viaParent = ctx.shares.get(dirname(plan.hostPath));
    const guestPath = direct ?? (viaParent ? `${viaParent}/${basename(plan.hostPath)}` : undefined);
    if (!guestPath) throw failedPrecondition(`host path ${plan.hostPath} was not shared with sandbox ${ctx.sandboxId} at boot`);
    return { kind: 'shared', guestPath, detach: async () => undefined };
  },
};
