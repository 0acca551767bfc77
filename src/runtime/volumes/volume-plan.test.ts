import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore } from '../../directvolume/index.js';
import { planMounts } from './volume-plan.js';

const bind = (source: string, destination: string) => ({ source, destination, type: 'bind', options: ['rbind', 'rw'] });

test("the pod's memory (a host tmpfs bound at /dev/shm) becomes guest memory of the host tmpfs's size; other binds are shared, records passed through", async (t) => {
  const shm = await statfs('/dev/shm').catch(() => undefined);
  if (shm?.type !== 0x01021994) return t.skip('this host has no tmpfs at /dev/shm');
  const root = mkdtempSync(join(tmpdir(), 'passvol-plan-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const folder = join(root, 'folder');
  const target = join(root, 'target');
  mkdirSync(folder);
  mkdirSync(target);
  const records = new RecordStore(join(root, 'dv'));
  await records.add(target, { 'volume-type': 'directvol', device: '/dev/loop9', fstype: 'ext4', options: [] });
  const plans = await planMounts([bind('/dev/shm', '/dev/shm'), bind(folder, '/dev/shm-like'), bind(folder, '/dev/shm2'), bind(target, '/data'), bind('/dev/shm', '/elsewhere')], records);
  assert.deepEqual(
    plans.map((p) => [p.kind, p.mount.destination]),
    [
      ['pod-tmpfs', '/dev/shm'],
      ['shared', '/dev/shm-like'],
      ['shared', '/dev/shm2'],
      ['direct-block', '/data'],
      ['shared', '/elsewhere'],
    ],
    "only /dev/shm (and kubelet's memory emptyDirs) is pod memory: another tmpfs may carry the host's files",
  );
  const memory = plans[0];
  assert.equal(memory?.kind === 'pod-tmpfs' && memory.bytes, shm.blocks * shm.bsize);
  // A folder that is not a tmpfs, bound at /dev/shm, is shared as any folder.
  assert.equal((await planMounts([bind(folder, '/dev/shm')], records))[0]?.kind, 'shared');
});
