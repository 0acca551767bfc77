// Step 4 of the flow: for each mount of the container, decide how it reaches the guest. A bind mount whose
// source has a direct-volume record is passed straight through (disk hot-plug or guest NFS mount); any other
// bind mount is shared from the host (virtio-fs, 9p as fallback), except memory the pod shares (its /dev/shm,
// memory-backed emptyDirs: a host tmpfs), which the guest gives it from its own memory (pod-tmpfs.ts); the
// rest (sysfs, tmpfs, ...) the guest kernel makes (kernel-mounts.ts).
import { statfs } from 'node:fs/promises';
import { readMountTable } from '../../common/mount-table.js';
import type { DirectVolumeRecord, RecordStore } from '../../directvolume/index.js';
import type { KernelMount } from '../../protocol/index.js';
import { isBindMount, type OciMount } from '../oci/bundle.js';
import { kernelMountOf } from './kernel-mounts.js';

export type PlannedMount =
  | { kind: 'direct-block'; mount: OciMount; record: DirectVolumeRecord }
  | { kind: 'direct-nfs'; mount: OciMount; record: DirectVolumeRecord }
  | { kind: 'shared'; mount: OciMount; hostPath: string }
  | { kind: 'pod-tmpfs'; mount: OciMount; hostPath: string; bytes: number }
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
    const memory = record ? undefined : await podMemoryBytes(source);
    if (memory !== undefined) out.push({ kind: 'pod-tmpfs', mount, hostPath: source, bytes: memory });
    else if (!record) out.push({ kind: 'shared', mount, hostPath: source });
    else if (record.mountInfo['volume-type'] === 'nfs') out.push({ kind: 'direct-nfs', mount, record });
    else out.push({ kind: 'direct-block', mount, record });
  }
  return out;
}

const TMPFS_MAGIC = 0x01021994;
/** CRI's /dev/shm for a pod (<CRI state>/sandboxes/<id>/shm) and kubelet's emptyDir volumes, by their host paths. */
const CRI_SANDBOX_SHM = /\/io\.containerd\.grpc\.v1\.cri\/sandboxes\/[^/]+\/shm$/;
const KUBELET_EMPTY_DIR = /\/pods\/[^/]+\/volumes\/kubernetes\.io~empty-dir\/[^/]+$/;

/**
 * Whether a bind's source is memory the pod alone owns and that starts empty: CRI's pod /dev/shm or a kubelet
 * emptyDir (of which only the memory-backed ones, a tmpfs on the host, qualify). The guest's own tmpfs serves
 * those (Kata does the same). Any other tmpfs (the host's own /dev/shm, kubelet's secrets and tokens) carries
 * something of the host's and stays shared.
 */
export function isPodMemorySource(source: string): boolean {
  return CRI_SANDBOX_SHM.test(source) || KUBELET_EMPTY_DIR.test(source);
}

/**
 * The size of the host tmpfs behind pod memory, or undefined for any other source. The source must be the
 * tmpfs itself (its mount point): a disk emptyDir on a node whose kubelet folder happens to be on a tmpfs
 * is a folder like any other.
 */
async function podMemoryBytes(source: string): Promise<number | undefined> {
  if (!isPodMemorySource(source)) return undefined;
  const table = await readMountTable();
  if (!table.some((m) => m.mountPoint === source && m.fstype === 'tmpfs')) return undefined;
  const st = await statfs(source).catch(() => undefined);
  return st?.type === TMPFS_MAGIC ? st.blocks * st.bsize : undefined;
}

export function readonlyMount(m: OciMount): boolean {
  return m.options.includes('ro');
}
