import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupSettings, cpuWeightOf, readContainerStats } from './container-cgroup.js';

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
  assert.deepEqual(cgroupSettings({ oomGroup: true }), [['memory.oom.group', '1']]);
});

test("shares map onto weights as runc maps them: the ends of v1's range are the ends of v2's", () => {
  assert.equal(cpuWeightOf(2), 1);
  assert.equal(cpuWeightOf(262_144), 10_000);
  assert.equal(cpuWeightOf(1024), 39);
});

test("a container's figures are read from its cgroup's files; 'max' is no limit (0), a missing file is zeros", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-cgstats-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 300\n');
  writeFileSync(join(dir, 'memory.stat'), 'anon 4096\nfile 8192\ninactive_file 4096\nactive_file 4096\npgfault 77\n');
  writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n');
  writeFileSync(join(dir, 'memory.current'), '12288\n');
  writeFileSync(join(dir, 'memory.max'), 'max\n');
  writeFileSync(join(dir, 'pids.current'), '3\n');
  const s = await readContainerStats(join(dir, 'cgroup.procs'));
  assert.deepEqual(s.cpu, { usageUsec: 2500, userUsec: 2000, systemUsec: 500, nrPeriods: 10, nrThrottled: 2, throttledUsec: 300 });
  assert.deepEqual([s.memory.usage, s.memory.limit, s.memory.anon, s.memory.file, s.memory.inactiveFile, s.memory.pgfault, s.memory.slab], [12288, 0, 4096, 8192, 4096, 77, 0]);
  assert.deepEqual(s.memoryEvents, { low: 0, high: 0, max: 5, oom: 1, oomKill: 1 });
  assert.deepEqual(s.pids, { current: 3, limit: 0 }, 'pids.max is absent: no limit');
});
