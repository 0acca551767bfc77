import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { pidAlive } from './processes.js';

test('pidAlive: this process is; nonsense pids are not', () => {
  assert.equal(pidAlive(process.pid), true);
  for (const pid of [undefined, 0, -1, 1.5, 2 ** 31]) assert.equal(pidAlive(pid), false, String(pid));
});

test('pidAlive: a zombie (ended, not yet reaped by its parent) counts as gone', async () => {
  // sh starts a child that ends at once, then becomes sleep, which never reaps it.
  const parent = spawn('sh', ['-c', 'true & echo $!; exec sleep 5']);
  const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
  try {
    for (let i = 0; i < 100 && pidAlive(zombie); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pidAlive(zombie), false);
    assert.equal(pidAlive(parent.pid), true, 'its parent runs on');
  } finally {
    parent.kill('SIGKILL');
  }
});
