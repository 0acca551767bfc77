import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OpResult } from '../../protocol/index.js';
import { hypervisorFigures, sandboxMetricsText } from './sandbox-metrics.js';

const stats = (usage: number, inactiveFile: number): OpResult<'containerStats'> => ({
  cpu: { usageUsec: 2_500_000, userUsec: 2_000_000, systemUsec: 500_000, nrPeriods: 0, nrThrottled: 0, throttledUsec: 0 },
  memory: { usage, limit: 64 << 20, anon: 0, file: 0, kernelStack: 0, slab: 0, sock: 0, shmem: 0, fileMapped: 0, fileDirty: 0, inactiveAnon: 0, activeAnon: 0, inactiveFile, activeFile: 0, unevictable: 0, pgfault: 0, pgmajfault: 0 },
  memoryEvents: { low: 0, high: 0, max: 0, oom: 1, oomKill: 1 },
  pids: { current: 4, limit: 0 },
});

test("a scrape: the sandbox's times, the hypervisor's process, the guest, each container's cgroup, and the shim's own figures", async () => {
  const text = await sandboxMetricsText({
    vmPid: () => process.pid,
    guestInfo: async () => ({ memTotalKiB: 500_000, memAvailableKiB: 400_000, agentRssKiB: 50_000, loadavg: [0.5, 0.25, 0.125] }),
    containerStats: async () => [{ id: 'main', stats: stats(10 << 20, 2 << 20) }, { id: 'no-cgroup', stats: undefined }],
    timings: { bootMs: 5280, volumeMs: { '/data': 490 } },
    fromTemplate: false,
  });
  assert.match(text, /^passvol_sandbox_boot_seconds 5\.28$/m);
  assert.match(text, /^passvol_sandbox_from_template 0$/m);
  assert.match(text, /^passvol_volume_attach_seconds\{destination="\/data"\} 0\.49$/m);
  assert.match(text, /^passvol_hypervisor_resident_memory_bytes [1-9]\d+$/m, 'read from /proc');
  assert.match(text, /^passvol_guest_memory_bytes\{item="available"\} 409600000$/m);
  assert.match(text, /^passvol_guest_load\{item="load15"\} 0\.125$/m);
  assert.match(text, /^passvol_container_cpu_seconds_total\{container="main"\} 2\.5$/m);
  assert.match(text, /^passvol_container_memory_working_set_bytes\{container="main"\} 8388608$/m);
  assert.match(text, /^passvol_container_oom_kills_total\{container="main"\} 1$/m);
  assert.doesNotMatch(text, /container="no-cgroup"/);
  assert.match(text, /^passvol_shim_process_resident_memory_bytes \d+$/m);
  assert.match(text, /^# TYPE passvol_container_cpu_seconds_total counter$/m);
});

test('a scrape without a VM or a guest that answers has the rest; a gone process has no figures', async () => {
  const text = await sandboxMetricsText({
    vmPid: () => undefined,
    guestInfo: () => Promise.reject(new Error('agent busy')),
    containerStats: () => Promise.reject(new Error('agent busy')),
    timings: { bootMs: 740, volumeMs: {} },
    fromTemplate: true,
  });
  assert.match(text, /^passvol_sandbox_from_template 1$/m);
  assert.doesNotMatch(text, /^passvol_hypervisor_resident_memory_bytes/m);
  assert.doesNotMatch(text, /^passvol_guest_memory_bytes/m);
  assert.equal(await hypervisorFigures(2 ** 22 + 7), undefined);
});
