// Orphan cleanup with real processes: a dead runtime's live "VM" is asked, through its agent socket, for the
// guest's clean stop and then ended; its bindings released, its folder and socket folder removed, and the
// records' mount info kept. A VM that will not die keeps its bindings.
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

// A stand-in VM: names its sandbox folder (with its slash) in argv as QEMU does, serves the agent's socket there (ping,
// shutdown: it notes the shutdown in a file), and exits on SIGTERM unless told to ignore it.
const FAKE_VM = `
const [dir, mode] = process.argv.slice(1);
const net = require('node:net'), fs = require('node:fs');
if (mode === 'stubborn') process.on('SIGTERM', () => {});
if (mode === 'agent') net.createServer((s) => {
  let buf = '';
  s.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\\n')) >= 0; buf = buf.slice(i + 1)) {
      const req = JSON.parse(buf.slice(0, i));
      if (req.op === 'shutdown') fs.writeFileSync(dir + 'guest-shut-down', '');
      const result = req.op === 'ping' ? { version: 'fake', protocol: 3, uptimeMs: 1, bootId: 'b' } : {};
      s.write(JSON.stringify({ v: 3, id: req.id, ok: true, result }) + '\\n');
    }
  });
}).listen(dir + 'agent.sock');
setTimeout(() => {}, 60000);
`;

test('a sandbox whose runtime died is cleaned up, its guest stopped cleanly first; a live one is left alone', async () => {
  const root = await mkdtemp(join(tmpdir(), 'passvol-gc-'));
  after(() => rm(root, { recursive: true, force: true }));
  const records = new RecordStore(join(root, 'dv'));
  const sandboxes = new SandboxDirs(join(root, 'sandboxes'));
  const deadPid = spawnSync('true').pid as number;
  for (const id of ['orphan', 'deaf', 'alive', 'recycled']) await sandboxes.create(id);
  const vm = spawn(process.execPath, ['-e', FAKE_VM, `${sandboxes.dir('orphan')}/`, 'agent']);
  // No agent answers and SIGTERM is ignored: only SIGKILL ends it.
  const deaf = spawn(process.execPath, ['-e', FAKE_VM, `${sandboxes.dir('deaf')}/`, 'stubborn']);
  // A process that now has the pid a dead sandbox's VM had: it must never be signalled.
  const stranger = spawn('sleep', ['60']);
  after(() => {
    vm.kill('SIGKILL');
    deaf.kill('SIGKILL');
    stranger.kill('SIGKILL');
  });
  for (let i = 0; i < 200 && !existsSync(join(sandboxes.dir('orphan'), 'agent.sock')); i++) await new Promise((r) => setTimeout(r, 25));
  for (const [id, runtimePid, vmPid] of [['orphan', deadPid, vm.pid], ['deaf', deadPid, deaf.pid], ['alive', process.ppid, undefined], ['recycled', deadPid, stranger.pid]] as const) {
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
  const shutDown = join(sandboxes.dir('orphan'), 'guest-shut-down');
  const report = await cleanupOrphans(sandboxes, records, pino({ level: 'silent' }));
  assert.deepEqual(report, [
    { sandbox: 'deaf', killedVm: true, guestShutdown: false, releasedVolumes: ['/pods/deaf/vol', '/pods/deaf/unrecorded'] },
    { sandbox: 'orphan', killedVm: false, guestShutdown: true, releasedVolumes: ['/pods/orphan/vol', '/pods/orphan/unrecorded'] },
    { sandbox: 'recycled', killedVm: false, guestShutdown: false, releasedVolumes: ['/pods/recycled/vol', '/pods/recycled/unrecorded'] },
  ]);
  assert.equal(existsSync(shutDown), false, 'the sandbox folder went with the cleanup');
  assert.equal(isAlive(vm.pid), false);
  assert.equal(isAlive(deaf.pid), false);
  assert.equal(isAlive(stranger.pid), true, 'a process that merely reuses the pid is left alone');
  assert.equal(await records.sandboxOf('/pods/orphan/vol'), undefined);
  assert.equal(await records.sandboxOf('/pods/orphan/unrecorded'), undefined);
  assert.equal((await records.get('/pods/orphan/vol')).raw, INFO, 'mount info kept');
  assert.equal(existsSync(join(root, 'sbs', 'orphan')), false);
  assert.deepEqual(await sandboxes.list(), ['alive']);
  assert.equal(await records.sandboxOf('/pods/alive/vol'), 'alive');
});
