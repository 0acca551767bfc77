import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processStartMs, runtimeAlive, vmAlive } from './sandbox-dir.js';

test('a runtime counts as alive only if its pid is a process that started before the sandbox', () => {
  const started = processStartMs(process.pid)!;
  assert.ok(Math.abs(started - (Date.now() - process.uptime() * 1000)) < 3000, 'start time read from /proc');
  assert.equal(runtimeAlive({ runtimePid: process.pid, createdAt: new Date().toISOString() }), true);
  // This pid belonged to a runtime that made its sandbox an hour before this process existed: reused.
  assert.equal(runtimeAlive({ runtimePid: process.pid, createdAt: new Date(started - 3600_000).toISOString() }), false);
  assert.equal(runtimeAlive({ runtimePid: 999_999_999, createdAt: new Date().toISOString() }), false);
});

test('a VM pid counts only if that process names the sandbox folder', () => {
  assert.equal(vmAlive(process.pid, '/no/such/sandbox/folder'), false);
  assert.equal(vmAlive(process.pid, process.argv[1]!), true);
  assert.equal(vmAlive(undefined, '/x'), false);
});
