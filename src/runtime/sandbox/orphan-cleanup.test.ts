// Orphan cleanup with real processes: a dead runtime's live "VM" is killed, its bindings released, its
// folder and socket folder removed, and the records' mount info kept.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RecordStore } from '../../directvolume/index.js';
import { cleanupOrphans } from './orphan-cleanup.js';
import { SandboxDirs, isAlive } from './sandbox-dir.js';

const INFO = '{"volume-type":"directvol","device":"/dev/loop9","fstype":"ext4"}';

test('a sandbox whose runtime died is cleaned up; a live one is left alone', async () => {
  const root = await mkdtemp(join(tmpdir(), 'passvol-gc-'));
  after(() => rm(root, { recursive: true, force: true }));
  const records = new RecordStore(join(root, 'dv'));
  const sandboxes = new SandboxDirs(join(root, 'sandboxes'));
  const deadPid = spawnSync('true').pid as number;
  // The stand-in VM names a file of the sandbox folder in its argv, as QEMU does.
  const vm = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', join(sandboxes.dir('orphan'), 'vm', 'qmp.sock')]);
  // A process that now has the pid a dead sandbox's VM had: it must never be killed.
  const stranger = spawn('sleep', ['60']);
  after(() => {
    vm.kill('SIGKILL');
    stranger.kill('SIGKILL');
  });
  await new Promise((r) => setTimeout(r, 100));
  for (const [id, runtimePid, vmPid] of [['orphan', deadPid, vm.pid], ['alive', process.ppid, undefined], ['recycled', deadPid, stranger.pid]] as const) {
    await sandboxes.create(id);
    await records.add(`/pods/${id}/vol`, INFO);
    await records.add(`/pods/${id}/unrecorded`, INFO);
    await records.recordSandbox(`/pods/${id}/vol`, id);
    await records.recordSandbox(`/pods/${id}/unrecorded`, id);
    const sock = join(root, 'sbs', id, 'shim-monitor.sock');
    mkdirSync(join(root, 'sbs', id), { recursive: true });
    writeFileSync(sock, '');
    await sandboxes.write({
      id, bundle: '/b', status: 'running', runtimePid, createdAt: new Date().toISOString(), monitorSocket: sock,
      boundVolumes: [{ volumePath: `/pods/${id}/vol`, device: '/dev/loop9', kind: 'block' }], ...(vmPid ? { vmPid } : {}),
    });
  }
  const report = await cleanupOrphans(sandboxes, records, pino({ level: 'silent' }));
  assert.deepEqual(report, [
    { sandbox: 'orphan', killedVm: true, releasedVolumes: ['/pods/orphan/vol', '/pods/orphan/unrecorded'] },
    { sandbox: 'recycled', killedVm: false, releasedVolumes: ['/pods/recycled/vol', '/pods/recycled/unrecorded'] },
  ]);
  assert.equal(isAlive(vm.pid), false);
  assert.equal(isAlive(stranger.pid), true, 'a process that merely reuses the pid is left alone');
  assert.equal(await records.sandboxOf('/pods/orphan/vol'), undefined);
  assert.equal(await records.sandboxOf('/pods/orphan/unrecorded'), undefined);
  assert.equal((await records.get('/pods/orphan/vol')).raw, INFO, 'mount info kept');
  assert.equal(existsSync(join(root, 'sbs', 'orphan')), false);
  assert.deepEqual(await sandboxes.list(), ['alive']);
  assert.equal(await records.sandboxOf('/pods/alive/vol'), 'alive');
});
