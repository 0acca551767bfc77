import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupSettings, cpuWeightOf } from './container-cgroup.js';

test('limits become cgroup v2 files: memory without swap, cpu.max as quota and period, shares as a weight, pids', () => {
  assert.deepEqual(cgroupSettings({ memoryLimitBytes: 1 << 26, cpuQuotaMicros: 50000, cpuPeriodMicros: 20000, cpuShares: 1024, pidsLimit: 64 }), [
    ['memory.max', String(1 << 26)],
    ['memory.swap.max', '0'],
    ['cpu.max', '50000 20000'],
    ['cpu.weight', '39'],
    ['pids.max', '64'],
  ]);
  assert.deepEqual(cgroupSettings({ cpuQuotaMicros: 25000 }), [['cpu.max', '25000 100000']]);
  assert.deepEqual(cgroupSettings({}), []);
});

test("shares map onto weights as runc maps them: the ends of v1's range are the ends of v2's", () => {
  assert.equal(cpuWeightOf(2), 1);
  assert.equal(cpuWeightOf(262_144), 10_000);
  assert.equal(cpuWeightOf(1024), 39);
});
