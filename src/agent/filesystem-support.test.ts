import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForFilesystem } from './filesystem-support.js';

test('a mount waits for its filesystem module, and stops waiting once init says all modules are in', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'passvol-fs-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const paths = { procFilesystems: join(dir, 'filesystems'), readyMark: join(dir, 'ready'), networkMark: join(dir, 'network') };
  await writeFile(paths.procFilesystems, 'nodev\tproc\n\text4\n');
  const t0 = Date.now();
  await waitForFilesystem('ext4', 5000, paths);
  assert.ok(Date.now() - t0 < 500, 'a known type does not wait');
  setTimeout(() => void writeFile(paths.procFilesystems, 'nodev\tproc\n\text4\n\txfs\n'), 300);
  await waitForFilesystem('xfs', 5000, paths);
  assert.ok(Date.now() - t0 >= 250, 'waited for the module');
  setTimeout(() => void writeFile(paths.readyMark, ''), 200);
  const t1 = Date.now();
  await waitForFilesystem('btrfs', 5000, paths);
  assert.ok(Date.now() - t1 < 2000, 'gave up when init said every module is loaded');
});

test('an NFS mount waits for init\'s network mark even when the kernel already lists nfs4', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'passvol-fs-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const paths = { procFilesystems: join(dir, 'filesystems'), readyMark: join(dir, 'ready'), networkMark: join(dir, 'network') };
  // nfs.ko is in (both types listed) but nfsv4.ko and the network are not yet.
  await writeFile(paths.procFilesystems, 'nodev\tnfs\nnodev\tnfs4\n');
  let done = false;
  const waiting = waitForFilesystem('nfs4', 10_000, paths).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(done, false, 'still waiting: the protocol module and the network are not ready');
  await writeFile(paths.networkMark, '');
  await waiting;
  assert.equal(done, true);
});
