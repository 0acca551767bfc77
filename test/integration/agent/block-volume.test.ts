// Block volumes through the real agent: a loop-device disk shown to the agent as a virtio disk (fake sysfs),
// found by serial after "hotplug", mounted with nosuid,nodev, measured by statfs (checked against df),
// fsGroup applied, and the mount/unmount ops' idempotency and errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { df, makeLoopDisk, needsRoot, plugDisk, startAgent, type AgentUnderTest } from './agent-harness.js';

let agent: AgentUnderTest;
before(async () => {
  if (needsRoot) return;
  agent = await startAgent();
});
after(() => agent?.stop());

const mountOptions = (hostPath: string): string =>
  readFileSyncText('/proc/self/mountinfo')
    .split('\n')
    .find((l) => l.split(' ')[4] === hostPath)
    ?.split(' ')[5] ?? '';
const readFileSyncText = (p: string): string => execFileSync('cat', [p], { encoding: 'utf8' });

test('a hot-plugged disk is found by serial, mounted nosuid,nodev, and statfs matches df', { skip: needsRoot }, async () => {
  const disk = await makeLoopDisk(agent, { name: 'vdb', serial: 'pv-vol-0001-long-serial-xyz', sizeMiB: 64, fstype: 'ext4', plugged: false });
  const target = '/run/passvol/volumes/v1';
  const mounting = agent.client.request('mount', { source: { kind: 'block', serial: disk.serial }, target, fstype: 'ext4', options: ['noatime'] });
  await new Promise((r) => setTimeout(r, 300));
  await plugDisk(agent, disk); // the kernel truncates the serial to 20 bytes; the agent still matches it
  const result = await mounting;
  assert.deepEqual(result, { device: join(agent.devDir, 'vdb'), fstype: 'ext4' });
  const host = join(agent.root, target);
  const opts = mountOptions(host).split(',');
  for (const o of ['nosuid', 'nodev', 'noatime']) assert.ok(opts.includes(o), `${o} in ${opts.join(',')}`);

  await writeFile(join(host, 'payload'), Buffer.alloc(3 * 1024 * 1024, 1));
  execFileSync('sync');
  const stats = await agent.client.request('statfs', { path: target });
  const d = df(host);
  assert.deepEqual(stats, {
    bytes: { total: d.size, used: d.used, available: d.avail },
    inodes: { total: d.itotal, used: d.iused, available: d.iavail },
  });
  assert.ok(stats.bytes.used >= 3 * 1024 * 1024);

  // Idempotent: the same disk at the same target is success; another disk there is ALREADY_EXISTS.
  assert.deepEqual(await agent.client.request('mount', { source: { kind: 'block', serial: disk.serial }, target, fstype: 'ext4' }), result);
  const other = await makeLoopDisk(agent, { name: 'vdc', serial: 'pv-vol-0002', sizeMiB: 64, fstype: 'ext4' });
  const clash = await agent.client.failure('mount', { source: { kind: 'block', serial: other.serial }, target, fstype: 'ext4' });
  assert.equal(clash.code, 'ALREADY_EXISTS');

  await agent.client.request('unmount', { target });
  assert.equal(mountOptions(host), '');
  await agent.client.request('unmount', { target }); // already gone: still success
});

test('a disk that never appears is NOT_FOUND; an unformatted one is FAILED_PRECONDITION', { skip: needsRoot }, async () => {
  const missing = await agent.client.failure('mount', {
    source: { kind: 'block', serial: 'no-such-disk' },
    target: '/run/passvol/volumes/missing',
    fstype: 'ext4',
    deviceWaitMs: 200,
  });
  assert.equal(missing.code, 'NOT_FOUND');
  assert.match(missing.message, /no-such-disk/);
  const blank = await makeLoopDisk(agent, { name: 'vdd', serial: 'pv-blank', sizeMiB: 16 });
  const e = await agent.client.failure('mount', { source: { kind: 'block', serial: blank.serial }, target: '/run/passvol/volumes/blank', fstype: 'ext4' });
  assert.equal(e.code, 'FAILED_PRECONDITION');
  assert.match(e.message, /mount/);
});

test('fsGroup: Always regroups every file; OnRootMismatch leaves a volume whose root is right', { skip: needsRoot }, async () => {
  const disk = await makeLoopDisk(agent, { name: 'vde', serial: 'pv-fsgroup', sizeMiB: 64, fstype: 'ext4' });
  const target = '/run/passvol/volumes/fsg';
  const host = join(agent.root, target);
  const source = { kind: 'block' as const, serial: disk.serial };
  await agent.client.request('mount', { source, target, fstype: 'ext4' });
  await mkdir(join(host, 'dir'));
  await writeFile(join(host, 'dir/file'), 'x');
  await chmod(join(host, 'dir/file'), 0o600);
  await agent.client.request('unmount', { target });

  await agent.client.request('mount', { source, target, fstype: 'ext4', fsGroup: 3456 });
  for (const p of ['', 'dir', 'dir/file']) assert.equal((await stat(join(host, p))).gid, 3456, p);
  assert.equal((await stat(join(host, 'dir'))).mode & 0o2070, 0o2070);
  assert.equal((await stat(join(host, 'dir/file'))).mode & 0o777, 0o660);
  await agent.client.request('unmount', { target });

  // Root already right: OnRootMismatch skips the walk, so a file changed meanwhile keeps its mode.
  const side = join(agent.scratch, 'side-mount'); // unmount removed the target directory
  await mkdir(side);
  execFileSync('mount', [disk.loop, side]);
  await chmod(join(side, 'dir/file'), 0o600);
  execFileSync('umount', [side]);
  await agent.client.request('mount', { source, target, fstype: 'ext4', fsGroup: 3456, fsGroupChangePolicy: 'OnRootMismatch' });
  assert.equal((await stat(join(host, 'dir/file'))).mode & 0o777, 0o600);
  await agent.client.request('unmount', { target });
});

test('a read-only mount refuses writes', { skip: needsRoot }, async () => {
  const disk = await makeLoopDisk(agent, { name: 'vdf', serial: 'pv-ro', sizeMiB: 64, fstype: 'ext4' });
  const target = '/run/passvol/volumes/ro';
  await agent.client.request('mount', { source: { kind: 'block', serial: disk.serial }, target, fstype: 'ext4', options: ['ro'] });
  await assert.rejects(writeFile(join(agent.root, target, 'x'), 'x'), /EROFS/);
  assert.equal(await readFile(join(agent.root, target, 'lost+found'), 'utf8').catch((e: NodeJS.ErrnoException) => e.code), 'EISDIR');
  await agent.client.request('unmount', { target });
});
