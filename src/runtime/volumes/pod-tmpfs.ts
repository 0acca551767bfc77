// Memory the pod's containers share (its /dev/shm, memory-backed emptyDirs): a tmpfs in the guest, one per
// host source, as large as the host's but no larger than the guest's memory (a tmpfs without sizeLimit is
// half the node's), bound into every container that mounts that source. Over a share
// instead, each container's mount would have its own guest page cache of the host's files, so shared memory
// between containers would not be shared, and every access would be a round trip to the host. What the pod
// writes there stays in the guest: nothing on the host reads these volumes.
import { GUEST_VOLUME_ROOT, type AttachedVolume, type SandboxVolume, type VolumeContext } from './sandbox-volume.js';
import type { PlannedMount } from './volume-plan.js';

export const podTmpfs: SandboxVolume = {
  kind: 'pod-tmpfs',
  matches: (p) => p.kind === 'pod-tmpfs',
  async attach(plan: PlannedMount, ctx: VolumeContext): Promise<AttachedVolume> {
    if (plan.kind !== 'pod-tmpfs') throw new Error('podTmpfs.attach on a mount that is not pod memory');
    const target = `${GUEST_VOLUME_ROOT}/${ctx.nextName()}`;
    // Everyone may create files in it, as in a host's /dev/shm; sticky, so only their owners remove them.
    const bytes = podTmpfsBytes(plan.bytes, ctx.guestMemoryBytes);
    await ctx.agent.call('mount', { source: { kind: 'tmpfs' }, target, fstype: 'tmpfs', options: [`size=${bytes}`, 'mode=1777'] });
    return { kind: 'pod-tmpfs', identity: podTmpfsIdentity(plan.hostPath), guestPath: target, detach: () => ctx.agent.call('unmount', { target }).then(() => undefined) };
  },
};

/** The size a pod memory tmpfs gets: the host's, capped at the guest's memory (the guest has no swap). */
export function podTmpfsBytes(hostBytes: number, guestMemoryBytes: number): number {
  // A host tmpfs of size 0 has no limit; size=0 would mean none in the guest too.
  return hostBytes > 0 ? Math.min(hostBytes, guestMemoryBytes) : guestMemoryBytes;
}

/** What names one pod memory volume in the sandbox: its host source. */
export const podTmpfsIdentity = (hostPath: string): string => `tmpfs:${hostPath}`;
