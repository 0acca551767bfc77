import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../protocol/index.js';
import { SysfsBlockDevices, serialMatches } from './block-devices.js';

// /dev/loop0 stands in for a disk node: the lookup only needs some block device to point at.
const skip = existsSync('/dev/loop0') ? false : 'needs /dev/loop0 as a stand-in block device node';

async function fakeTree(): Promise<{ root: string; sys: string; dev: string }> {
  const root = await mkdtemp(join(tmpdir(), 'pv-blk-'));
  const sys = join(root, 'sys/block');
  const dev = join(root, 'dev');
  await mkdir(sys, { recursive: true });
  await mkdir(dev);
  return { root, sys, dev };
}

async function addDisk(t: { sys: string; dev: string }, name: string, serial: string, majMin = '7:0', sectors = '2048'): Promise<void> {
  await mkdir(join(t.sys, name));
  await writeFile(join(t.sys, name, 'serial'), `${serial}\n`);
  await writeFile(join(t.sys, name, 'dev'), `${majMin}\n`);
  await writeFile(join(t.sys, name, 'size'), `${sectors}\n`);
  await symlink('/dev/loop0', join(t.dev, name));
}

test('serials longer than 20 bytes match their truncated form', () => {
  assert.equal(serialMatches('pv-0123456789abcdef0', 'pv-0123456789abcdef0123'), true);
  assert.equal(serialMatches('pv-01', 'pv-01'), true);
  assert.equal(serialMatches('pv-0', 'pv-01'), false);
});

test('finds a disk by serial, by major:minor, and reads its size', { skip }, async (t) => {
  const tree = await fakeTree();
  t.after(() => rm(tree.root, { recursive: true, force: true }));
  await addDisk(tree, 'vda', 'boot');
  await addDisk(tree, 'vdb', 'pv-vol-1', '254:16', '4096');
  await mkdir(join(tree.sys, 'loop9')); // not a virtio disk: ignored
  const devices = new SysfsBlockDevices(tree.sys, tree.dev);
  const found = await devices.findBySerial('pv-vol-1', 0);
  assert.deepEqual(found, { name: 'vdb', devPath: join(tree.dev, 'vdb') });
  assert.deepEqual(await devices.findByMajMin('254:16'), found);
  assert.equal(await devices.findByMajMin('1:1'), undefined);
  assert.equal(await devices.sizeBytes(found), 4096 * 512);
});

test('waits for a hot-plugged disk, and gives up with NOT_FOUND', { skip }, async (t) => {
  const tree = await fakeTree();
  t.after(() => rm(tree.root, { recursive: true, force: true }));
  const devices = new SysfsBlockDevices(tree.sys, tree.dev);
  const started = Date.now();
  setTimeout(() => void addDisk(tree, 'vdc', 'late-disk'), 250);
  assert.equal((await devices.findBySerial('late-disk', 5000)).name, 'vdc');
  assert.ok(Date.now() - started >= 250);
  await assert.rejects(devices.findBySerial('never', 150), (e: unknown) => e instanceof AgentError && e.code === 'NOT_FOUND' && /never/.test(e.message));
});
