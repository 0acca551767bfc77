import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { signalAndWait } from './process-exit.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('a child that exits within its grace leaves no timer behind (which would keep the process alive)', async () => {
  const before = timers();
  const child = spawn('sleep', ['0.2']);
  const exited = new Promise((r) => child.once('exit', r));
  await signalAndWait(child, exited, 60_000);
  assert.equal(child.exitCode, 0, 'it exited by itself, not by a signal');
  assert.equal(timers(), before);
});

test('a child that outlives its grace gets SIGTERM', async () => {
  const child = spawn('sleep', ['60']);
  const exited = new Promise((r) => child.once('exit', r));
  await signalAndWait(child, exited, 100);
  assert.equal(child.signalCode, 'SIGTERM');
});
