// Online growth through the real agent. The host side of a resize is simulated the way the guest sees a
// QEMU block_resize: the loop device's backing file grows (truncate) and the kernel is told (losetup -c),
// so /sys/block/loopN/size, which the fake /sys/block/vdX/size points at, changes under the agent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CAP_SYS_RESOURCE, df, hasCapability, makeLoopDisk, needsRoot, startAgent, type AgentUnderTest } from './agent-harness.js';

let agent: AgentUnderTest;
before(async () => {
  if (needsRoot) return;
  agent = await startAgent();
});
after(() => agent?.stop());

const MiB = 1024 * 1024;

test('xfs grows online after its disk grows, once the kernel reports the new size', { skip: needsRoot }, async () => {
  // xfsprogs 6.x refuses filesystems under 300 MiB.
  const disk = await makeLoopDisk(agent, { name: 'vdb', serial: 'pv-grow-xfs', sizeMiB: 320, fstype: 'xfs' });
  const target = '/run/passvol/volumes/xfs';
  await agent.client.request('mount', { source: { kind: 'block', serial: disk.serial }, target, fstype: 'xfs' });
  const before = await agent.client.request('statfs', { path: target });

  // The kernel learns of the new size a little after the host resizes: the agent must wait for it.
  execFileSync('truncate', ['-s', '480M', disk.image]);
  setTimeout(() => execFileSync('losetup', ['-c', disk.loop]), 300);
  const grown = await agent.client.request('growFilesystem', { path: target, minDeviceBytes: 480 * MiB, waitMs: 5000 });
  assert.equal(grown.deviceBytes, 480 * MiB);
  assert.ok(grown.bytes.total > before.bytes.total + 150 * MiB, `${before.bytes.total} -> ${grown.bytes.total}`);
  assert.equal(grown.bytes.total, df(join(agent.root, target)).size);

  // A disk that never reaches the asked size: FAILED_PRECONDITION, and the filesystem is left alone.
  const short = await agent.client.failure('growFilesystem', { path: target, minDeviceBytes: 1024 * MiB, waitMs: 200 });
  assert.equal(short.code, 'FAILED_PRECONDITION');
  assert.match(short.message, /resize the disk on the host first/);
  await agent.client.request('unmount', { target });
});

test('growToDevice at mount time grows a filesystem whose disk grew while detached', { skip: needsRoot }, async () => {
  const disk = await makeLoopDisk(agent, { name: 'vdc', serial: 'pv-grow-mount', sizeMiB: 320, fstype: 'xfs' });
  execFileSync('truncate', ['-s', '400M', disk.image]);
  execFileSync('losetup', ['-c', disk.loop]);
  const target = '/run/passvol/volumes/xfs2';
  await agent.client.request('mount', { source: { kind: 'block', serial: disk.serial }, target, fstype: 'xfs', growToDevice: true });
  // xfsprogs 6.x gives filesystems of 300 MiB and more a 64 MiB internal log: 320 MiB shows ~256 MiB, 400 MiB ~336 MiB.
  assert.ok((await agent.client.request('statfs', { path: target })).bytes.total > 320 * MiB);
  await agent.client.request('unmount', { target });
});

const ext4Skip =
  needsRoot ||
  (hasCapability(CAP_SYS_RESOURCE)
    ? false
    : 'ext4 online grow needs CAP_SYS_RESOURCE (resize2fs reserves GDT blocks), which this machine withholds from root');

test('ext4 grows online after its disk grows', { skip: ext4Skip }, async () => {
  const disk = await makeLoopDisk(agent, { name: 'vdd', serial: 'pv-grow-ext4', sizeMiB: 64, fstype: 'ext4' });
  const target = '/run/passvol/volumes/ext4';
  await agent.client.request('mount', { source: { kind: 'block', serial: disk.serial }, target, fstype: 'ext4' });
  execFileSync('truncate', ['-s', '128M', disk.image]);
  execFileSync('losetup', ['-c', disk.loop]);
  const grown = await agent.client.request('growFilesystem', { path: target, minDeviceBytes: 128 * MiB });
  assert.ok(grown.bytes.total > 100 * MiB);
  await agent.client.request('unmount', { target });
});

test('growFilesystem refuses what it cannot grow', { skip: needsRoot }, async () => {
  const nothing = await agent.client.failure('growFilesystem', { path: '/run/passvol/volumes/none' });
  assert.equal(nothing.code, 'NOT_FOUND');
});
