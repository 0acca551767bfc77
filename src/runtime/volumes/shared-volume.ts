// A host folder that is not passed through reaches the guest over the sandbox's shared filesystem
// (virtio-fs, 9p as fallback), mounted at boot; a single file through the sandbox's folder of file binds
// (see sandbox/sandbox-shares.ts).
import { failedPrecondition } from '../../common/errors.js';
import type { AttachedVolume, SandboxVolume, VolumeContext } from './sandbox-volume.js';
import { readonlyMount, type PlannedMount } from './volume-plan.js';

/** How a sandbox's shares are looked up: one share per source and access (read-only binds are their own). */
export const shareKey = (hostPath: string, readonly: boolean): string => `${readonly ? 'ro' : 'rw'}:${hostPath}`;

export const sharedVolume: SandboxVolume = {
  kind: 'shared',
  matches: (p) => p.kind === 'shared',
  async attach(plan: PlannedMount, ctx: VolumeContext): Promise<AttachedVolume> {
    if (plan.kind !== 'shared') throw new Error('sharedVolume.attach on a mount that is not shared');
    const guestPath = ctx.shares.get(shareKey(plan.hostPath, readonlyMount(plan.mount)));
    if (!guestPath) throw failedPrecondition(`host path ${plan.hostPath} was not shared with sandbox ${ctx.sandboxId} at boot`);
    return { kind: 'shared', guestPath, detach: async () => undefined };
  },
};
