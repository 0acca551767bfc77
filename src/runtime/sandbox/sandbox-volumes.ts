// Attaching a sandbox's volumes in the order of its mounts, each by its kind (runtime/volumes/); the kernel
// filesystems (sysfs, tmpfs, ...) pass on to the agent in their places. A volume several mounts name is
// attached (hot-plugged, mounted in the guest) once and shared; it is attached read-only only if every one
// of those mounts is, and each container bind keeps its own read-only flag. Pod memory (pod-tmpfs.ts) is
// one guest tmpfs per host source for all the sandbox's containers.
import type { ContainerMountEntry } from '../../protocol/index.js';
import { failedPrecondition } from '../../common/errors.js';
import { volumeKindFor } from '../volumes/index.js';
import { podTmpfsIdentity } from '../volumes/pod-tmpfs.js';
import type { AttachedVolume, VolumeContext } from '../volumes/sandbox-volume.js';
import { readonlyMount, type PlannedMount } from '../volumes/volume-plan.js';

function attachable(plan: PlannedMount, plans: readonly PlannedMount[]): PlannedMount {
  if (!('record' in plan) || !readonlyMount(plan.mount)) return plan;
  const writable = plans.some((p) => 'record' in p && p.record.volumePath === plan.record.volumePath && !readonlyMount(p.mount));
  return writable ? { ...plan, mount: { ...plan.mount, options: plan.mount.options.filter((o) => o !== 'ro') } } : plan;
}

/** What names the volume a plan needs, when several mounts may share it: a record's volume path, pod memory's source. */
function identityOf(plan: PlannedMount): string | undefined {
  if ('record' in plan) return plan.record.volumePath;
  return plan.kind === 'pod-tmpfs' ? podTmpfsIdentity(plan.hostPath) : undefined;
}

/** What one container's mounts need, and which of the sandbox's volumes they use. */
export interface ContainerVolumes {
  mounts: ContainerMountEntry[];
  used: AttachedVolume[];
}

/**
 * Attaches what the plans need; `onAttached` records each new volume before the next one is tried. A volume
 * the sandbox already has (`attachedAlready`, by identity: another container's) is used as it is.
 */
export async function attachVolumes(
  plans: readonly PlannedMount[],
  ctx: VolumeContext,
  onAttached: (v: AttachedVolume, destination: string, ms: number) => Promise<void>,
  attachedAlready: (identity: string) => AttachedVolume | undefined = () => undefined,
): Promise<ContainerVolumes> {
  const mounts: ContainerMountEntry[] = [];
  const used = new Set<AttachedVolume>();
  const byIdentity = new Map<string, AttachedVolume>();
  for (const plan of plans) {
    if (plan.kind === 'guest') {
      mounts.push(plan.kernel);
      continue;
    }
    const identity = identityOf(plan);
    let v = identity !== undefined ? (byIdentity.get(identity) ?? attachedAlready(identity)) : undefined;
    if (v && v.readonly && !readonlyMount(plan.mount)) {
      throw failedPrecondition(`volume ${v.volumePath ?? v.guestPath} is in this sandbox read-only (another container mounts it so); it cannot also be mounted read-write at ${plan.mount.destination}`);
    }
    if (!v) {
      const kind = volumeKindFor(plan);
      if (!kind) continue;
      const started = Date.now();
      v = await kind.attach(attachable(plan, plans), ctx);
      if (identity !== undefined) byIdentity.set(identity, v);
      await onAttached(v, plan.mount.destination, Date.now() - started);
    }
    used.add(v);
    mounts.push({ source: v.guestPath, destination: plan.mount.destination, readonly: readonlyMount(plan.mount) });
  }
  return { mounts, used: [...used] };
}
