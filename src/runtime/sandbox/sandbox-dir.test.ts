import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processStartMs, processStartTicks, runtimeAlive, vmAlive } from './sandbox-dir.js';

test('a runtime counts as alive only if its pid is a process that started before the sandbox', () => {
  const started = processStartMs(process.pid)!;
  assert.ok(Math.abs(started - (Date.now() - process.uptime() * 1000)) < 3000, 'start time read from /proc');
  assert.equal(runtimeAlive({ runtimePid: process.pid, createdAt: new Date().toISOString() }), true);
  // This pid belonged to a runtime that made its sandbox an hour before this process existed: reused.
  assert.equal(runtimeAlive({ runtimePid: process.pid, createdAt: new Date(started - 3600_000).toISOString() }), false);
  assert.equal(runtimeAlive({ runtimePid: 999_999_999, createdAt: new Date().toISOString() }), false);
});

test('with recorded start ticks, the same pid counts only if it is the same process, whatever the clock says', () => {
  const ticks = processStartTicks(process.pid)!;
  const longAgo = new Date(0).toISOString(); // a clock that jumped: createdAt says nothing any more
  assert.equal(runtimeAlive({ runtimePid: process.pid, createdAt: longAgo, runtimeStart: ticks }), true);
  assert.equal(runtimeAlive({ runtimePid: process.pid, createdAt: new Date().toISOString(), runtimeStart: ticks - 1 }), false, 'another process under a reused pid');
});

test('a VM pid counts only if that process names the sandbox folder', () => {
  assert.equal(vmAlive(process.pid, '/no/such/sandbox/folder'), false);
  const script = process.argv[1]!;
  assert.equal(vmAlive(process.pid, script.slice(0, script.lastIndexOf('/'))), true);
  assert.equal(vmAlive(process.pid, script.slice(0, script.lastIndexOf('/') - 1)), false, 'a folder whose name is a prefix of another is not it');
  assert.equal(vmAlive(undefined, '/x'), false);
});
