// Who may take a volume bound to another sandbox: never from one that still runs (a passvol sandbox with a live
// runtime, or a Kata sandbox whose monitor socket answers); always from one that is gone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemExec } from '../../common/exec.js';
import { createLogger } from '../../common/logger.js';
import { RecordStore } from '../../directvolume/index.js';
import { SandboxDirs, processStartTicks } from '../sandbox/sandbox-dir.js';
import { VolumeBinding } from './volume-binding.js';

const dir = mkdtempSync(join(tmpdir(), 'passvol-binding-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const records = new RecordStore(join(dir, 'records'));
const sandboxes = new SandboxDirs(join(dir, 'sandboxes'));
const kataShims = join(dir, 'kata');
const binding = new VolumeBinding(records, sandboxes, systemExec, createLogger({ level: 'silent' }), (id) => [join(kataShims, id, 'shim-monitor.sock')]);
const volume = '/kubelet/pods/p/volumes/v/mount';
const holder = async () => records.sandboxOf(volume);

async function boundTo(id: string): Promise<void> {
  await records.add(volume, { 'volume-type': 'directvol', device: '/dev/loop9', fstype: 'ext4', metadata: {}, options: [] });
  if ((await holder()) !== undefined) await records.releaseSandbox(volume, (await holder())!);
  await records.recordSandbox(volume, id);
}

test('a passvol sandbox whose runtime still runs keeps its volume; once that runtime is gone it is taken over', async () => {
  await boundTo('first');
  await sandboxes.create('first');
  const state = { id: 'first', bundle: '/b', status: 'running' as const, runtimePid: process.pid, runtimeStart: processStartTicks(process.pid), createdAt: new Date().toISOString(), boundVolumes: [] };
  await sandboxes.write(state);
  await assert.rejects(binding.bind(volume, 'second'), /in use by running sandbox first/);
  assert.equal(await holder(), 'first', 'nothing changed');
  await sandboxes.write({ ...state, runtimeStart: (state.runtimeStart ?? 0) - 1 }); // the pid now names another process
  await binding.bind(volume, 'second');
  assert.equal(await holder(), 'second');
  await binding.bind(volume, 'second'); // again: no change, no error
  assert.equal(await holder(), 'second');
});

test('a sandbox passvol did not start keeps its volume while its Kata monitor socket answers', async (t) => {
  await boundTo('kata-sb');
  mkdirSync(join(kataShims, 'kata-sb'), { recursive: true });
  const server = createServer((c) => c.end());
  await new Promise<void>((r) => server.listen(join(kataShims, 'kata-sb', 'shim-monitor.sock'), r));
  t.after(() => server.close());
  await assert.rejects(binding.bind(volume, 'mine'), /bound to sandbox kata-sb, which passvol did not start and which still answers/);
  assert.equal(await holder(), 'kata-sb');
  await new Promise<void>((r) => server.close(() => r()));
  // The shim was killed: its socket file stays, and connecting is refused.
  const shim = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(join(kataShims, 'kata-sb', 'shim-monitor.sock'))}, () => console.log('up'))`]);
  await new Promise((r) => shim.stdout.once('data', r));
  const killed = new Promise((r) => shim.once('exit', r));
  shim.kill('SIGKILL');
  await killed;
  assert.ok(existsSync(join(kataShims, 'kata-sb', 'shim-monitor.sock')), 'a dead socket file is left');
  await binding.bind(volume, 'mine');
  assert.equal(await holder(), 'mine', 'a socket nobody answers on is a sandbox that is gone');
});
