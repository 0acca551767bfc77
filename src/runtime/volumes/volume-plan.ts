// Step 4 of the flow: for each mount of the container, decide how it reaches the guest. A bind mount whose
// source has a direct-volume record is passed straight through (disk hot-plug or guest NFS mount); any other
// bind mount is shared from the host (virtio-fs, 9p as fallback); the rest (sysfs, tmpfs, ...) the guest
// kernel makes (kernel-mounts.ts).
import type { DirectVolumeRecord, RecordStore } from '../../directvolume/index.js';
import type { KernelMount } from '../../protocol/index.js';
import { isBindMount, type OciMount } from '../oci/bundle.js';
import { kernelMountOf } from './kernel-mounts.js';

export type PlannedMount =
  | { kind: 'direct-block'; mount: OciMount; record: DirectVolumeRecord }
  | { kind: 'direct-nfs'; mount: OciMount; record: DirectVolumeRecord }
  | { kind: 'shared'; mount: OciMount; hostPath: string }
  | { kind: 'guest'; mount: OciMount; kernel: KernelMount };

export async function planMounts(mounts: readonly OciMount[], records: RecordStore): Promise<PlannedMount[]> {
  const out: PlannedMount[] = [];
  for (const mount of mounts) {
    if (!isBindMount(mount)) {
      const kernel = kernelMountOf(mount);
      if (kernel) out.push({ kind: 'guest', mount, kernel });
      continue;
    }
    const source = mount.source as string;
    // A path no record could be named after (too long for Kata's naming) has no record.
    const record = await records.find(source).catch((e: { code?: string }) => {
      if (e.code === 'PV_ERR_INVALID_ARGUMENT') return undefined;
      throw e;
    });
    if (!record) out.push({ kind: 'shared', mount, hostPath: source });
    else if (record.mountInfo['volume-type'] === 'nfs') out.push({ kind: 'direct-nfs', mount, record });
    else out.push({ kind: 'direct-block', mount, record });
  }
  return out;
}

export function readonlyMount(m: OciMount): boolean {
  return m.options.includes('ro');
}
