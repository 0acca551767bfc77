import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OciSpecSchema } from '../oci/bundle.js';
import { containerLimitsOf } from './container-limits.js';

const spec = (resources?: unknown) => OciSpecSchema.parse({ ociVersion: '1.0.2', process: { args: ['/bin/sh'] }, root: { path: 'rootfs' }, ...(resources ? { linux: { resources } } : {}) });

test("a container's linux.resources become its guest cgroup's limits; unset and zero mean none", () => {
  assert.deepEqual(containerLimitsOf(spec({ memory: { limit: 64 << 20 }, cpu: { quota: 50000, period: 100000, shares: 512 }, pids: { limit: 100 } })), {
    memoryLimitBytes: 64 << 20,
    cpuQuotaMicros: 50000,
    cpuPeriodMicros: 100000,
    cpuShares: 512,
    pidsLimit: 100,
  });
  assert.deepEqual(containerLimitsOf(spec()), {});
  assert.deepEqual(containerLimitsOf(spec({ memory: { limit: 0 }, cpu: { quota: -1, period: 100000, shares: 0 }, pids: { limit: -1 } })), {});
  assert.deepEqual(containerLimitsOf(spec({ cpu: { quota: 20000 } })), { cpuQuotaMicros: 20000, cpuPeriodMicros: 100000 }, 'the default period');
  assert.deepEqual(containerLimitsOf(spec({ cpu: { shares: 1 } })), { cpuShares: 2 }, "shares are held to the kernel's range");
  assert.deepEqual(containerLimitsOf(spec({ cpu: { quota: 100, period: 100000 } })), { cpuQuotaMicros: 1000, cpuPeriodMicros: 100000 }, "a quota under the kernel's 1 ms is raised to it, as kubelet does");
  assert.deepEqual(containerLimitsOf(spec({ unified: { 'memory.oom.group': '1', 'memory.high': '1000' } })), { oomGroup: true }, "kubelet's memory.oom.group; other unified files are not taken");
});

test('a CPU period the kernel would refuse is refused, naming the field', () => {
  assert.throws(() => containerLimitsOf(spec({ cpu: { quota: 1000, period: 500 } })), /linux\.resources\.cpu\.period 500 is outside/);
  assert.throws(() => containerLimitsOf(spec({ cpu: { quota: 1000, period: 2_000_000 } })), /outside 1000\.\.1000000/);
});
