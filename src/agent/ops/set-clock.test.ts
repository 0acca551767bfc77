import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { stepClock, type ClockDeps } from './set-clock.js';

test('the clock is stepped to the current second at once, then to the next second exactly on its boundary', async () => {
  let mono = 1000;
  const calls: string[][] = [];
  const scheduled: { fn: () => void; ms: number }[] = [];
  const deps: ClockDeps = {
    run: async (cmd, args) => {
      calls.push([cmd, ...args]);
      mono += 30; // date itself takes a while under TCG
      return { stdout: '', stderr: '' };
    },
    log: pino({ level: 'silent' }),
    monotonic: () => mono,
    wall: () => 1_600_000_000_000, // the template's stale clock
    later: (fn, ms) => void scheduled.push({ fn, ms }),
  };
  // The host sent 1_796_000_000.250 s; the request arrived at monotonic 1000 and 10 ms passed since.
  mono = 1010;
  const r = await stepClock(deps, 1_796_000_000_250, 1000);
  assert.equal(r.wasBehindMs, 1_796_000_000_260 - 1_600_000_000_000);
  assert.deepEqual(calls, [['date', '-u', '-s', '@1796000000']]);
  assert.equal(scheduled.length, 1);
  // Host time is now ...0.290 (30 ms of date): the next boundary is 710 ms away.
  assert.equal(scheduled[0]?.ms, 710);
  scheduled[0]?.fn();
  assert.deepEqual(calls[1], ['date', '-u', '-s', '@1796000001']);
});
