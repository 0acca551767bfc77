// Which binds become the pod's guest memory, on real mounts: a tmpfs at CRI's pod /dev/shm path or at a
// kubelet emptyDir path does (with the host tmpfs's size); the same paths on disk, and the host's own
// /dev/shm, are shared as any folder. Needs root (mounts a tmpfs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore } from '../../../src/directvolume/index.js';
import { planMounts } from '../../../src/runtime/volumes/volume-plan.js';
import { needsRoot, undoMountsAndLoops } from '../../helpers/host-cleanup.js';

const bind = (source: string, destination: string) => ({ source, destination, type: 'bind', options: ['rbind', 'rw'] });

test("a pod's /dev/shm and memory emptyDirs become guest memory of the host tmpfs's size; other folders and tmpfs are shared", { skip: needsRoot }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'passvol-podmem-'));
  after(() => {
    undoMountsAndLoops(root);
    rmSync(root, { recursive: true, force: true });
  });
  const shm = join(root, 'io.containerd.grpc.v1.cri/sandboxes/abc/shm');
  const memoryDir = join(root, 'pods/uid-1/volumes/kubernetes.io~empty-dir/cache');
  const diskDir = join(root, 'pods/uid-1/volumes/kubernetes.io~empty-dir/scratch');
  // A disk emptyDir of a kubelet whose folder is on a tmpfs: a folder on a tmpfs, not a tmpfs of its own.
  const kubeletOnTmpfs = join(root, 'tmpfs-kubelet');
  const onTmpfs = join(kubeletOnTmpfs, 'pods/uid-2/volumes/kubernetes.io~empty-dir/scratch');
  mkdirSync(kubeletOnTmpfs);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', kubeletOnTmpfs]).status, 0);
  for (const d of [shm, memoryDir, diskDir, onTmpfs]) mkdirSync(d, { recursive: true });
  for (const [d, size] of [[shm, '64m'], [memoryDir, '16m']] as const) assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', d]).status, 0);
  const plans = await planMounts([bind(shm, '/dev/shm'), bind(memoryDir, '/cache'), bind(diskDir, '/scratch'), bind('/dev/shm', '/host-shm'), bind(onTmpfs, '/scratch2')], new RecordStore(join(root, 'dv')));
  assert.deepEqual(
    plans.map((p) => [p.kind, p.mount.destination, p.kind === 'pod-tmpfs' ? p.bytes : undefined]),
    [
      ['pod-tmpfs', '/dev/shm', 64 << 20],
      ['pod-tmpfs', '/cache', 16 << 20],
      ['shared', '/scratch', undefined],
      ['shared', '/host-shm', undefined],
      ['shared', '/scratch2', undefined],
    ],
  );
});
