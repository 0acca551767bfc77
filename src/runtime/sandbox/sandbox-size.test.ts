import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OciSpecSchema } from '../oci/bundle.js';
import { podLimitsOf, sandboxSize, SANDBOX_CPU_PERIOD, SANDBOX_CPU_QUOTA, SANDBOX_MEMORY } from './sandbox-size.js';

const spec = (extra: Record<string, unknown>) => OciSpecSchema.parse({ ociVersion: '1.0.2', process: { args: ['/bin/sh'] }, root: { path: 'rootfs' }, ...extra });
const podSandbox = (a: Record<string, string>) => spec({ annotations: { 'io.kubernetes.cri.container-type': 'sandbox', ...a } });
const MiB = 1024 * 1024;
const roomy = { cpus: 64, memoryMiB: 1 << 20 };

test("CRI's pod sandbox: the limits are the pod's annotations (the sum of its containers'), CPU quota rounded up to whole vCPUs", () => {
  const limits = podLimitsOf(podSandbox({ [SANDBOX_MEMORY]: String(256 * MiB), [SANDBOX_CPU_QUOTA]: '150000', [SANDBOX_CPU_PERIOD]: '100000' }));
  assert.deepEqual(limits, { memoryBytes: 256 * MiB, cpus: 2, from: 'pod annotations' });
  assert.deepEqual(sandboxSize({ memoryMiB: 512, cpus: 1 }, limits, roomy), { memoryMiB: 768, cpus: 3, capped: [] });
});

test('a pod without limits (kubelet writes 0; an old kubelet writes nothing) gets the base', () => {
  for (const a of <Record<string, string>[]>[{ [SANDBOX_MEMORY]: '0', [SANDBOX_CPU_QUOTA]: '0', [SANDBOX_CPU_PERIOD]: '100000' }, { [SANDBOX_CPU_QUOTA]: '-1', [SANDBOX_CPU_PERIOD]: '100000' }, {}]) {
    const limits = podLimitsOf(podSandbox(a));
    assert.deepEqual(limits, { memoryBytes: 0, cpus: 0, from: 'none' });
    assert.deepEqual(sandboxSize({ memoryMiB: 512, cpus: 1 }, limits, roomy), { memoryMiB: 512, cpus: 1, capped: [] });
  }
});

test('memory is rounded up to whole MiB; a quota without a period is no CPU limit', () => {
  assert.deepEqual(podLimitsOf(podSandbox({ [SANDBOX_MEMORY]: String(MiB + 1), [SANDBOX_CPU_QUOTA]: '50000' })), { memoryBytes: MiB + 1, cpus: 0, from: 'pod annotations' });
  assert.equal(sandboxSize({ memoryMiB: 512, cpus: 1 }, { memoryBytes: MiB + 1, cpus: 0, from: 'pod annotations' }, roomy).memoryMiB, 514);
});

test('annotations that are not whole numbers are refused, naming the annotation', () => {
  for (const bad of ['1e9', ' 5', '12Mi', '-5', '0x10', '99999999999999999999']) {
    assert.throws(() => podLimitsOf(podSandbox({ [SANDBOX_MEMORY]: bad })), new RegExp(`annotation ${SANDBOX_MEMORY.replaceAll('.', '\\.')}=`));
  }
  assert.throws(() => podLimitsOf(podSandbox({ [SANDBOX_CPU_QUOTA]: '-2', [SANDBOX_CPU_PERIOD]: '100000' })), /sandbox-cpu-quota/);
});

test("a bundle that is not CRI's pod sandbox brings its own limits in linux.resources", () => {
  const limits = podLimitsOf(spec({ linux: { resources: { memory: { limit: 128 * MiB }, cpu: { quota: 200000, period: 100000, shares: 1024 } } } }));
  assert.deepEqual(limits, { memoryBytes: 128 * MiB, cpus: 2, from: 'linux.resources' });
  assert.deepEqual(podLimitsOf(spec({ linux: { resources: { memory: { limit: -1 } } } })), { memoryBytes: 0, cpus: 0, from: 'none' });
  assert.deepEqual(podLimitsOf(spec({})), { memoryBytes: 0, cpus: 0, from: 'none' });
  assert.throws(() => spec({ linux: { resources: { memory: { limit: '1G' } } } }), /limit/, 'the bundle itself is refused');
  // A CRI container (not the pod's sandbox) is sized by the pod: its own annotations do not count.
  assert.deepEqual(podLimitsOf(spec({ annotations: { 'io.kubernetes.cri.container-type': 'container', [SANDBOX_MEMORY]: String(MiB) } })), { memoryBytes: 0, cpus: 0, from: 'none' });
});

test("a pod asking for more than the host has gets the host's, and says so; the base is never cut", () => {
  const held = sandboxSize({ memoryMiB: 512, cpus: 1 }, { memoryBytes: 64 * 1024 * MiB, cpus: 8, from: 'pod annotations' }, { cpus: 2, memoryMiB: 24_000 });
  assert.deepEqual({ memoryMiB: held.memoryMiB, cpus: held.cpus }, { memoryMiB: 24_000, cpus: 2 });
  assert.equal(held.capped.length, 2);
  assert.match(held.capped.join('; '), /memory 66048 MiB held to the host's 24000 MiB; 9 vCPUs held to the host's 2 CPUs/);
  const small = sandboxSize({ memoryMiB: 512, cpus: 4 }, { memoryBytes: 0, cpus: 0, from: 'none' }, { cpus: 2, memoryMiB: 256 });
  assert.deepEqual(small, { memoryMiB: 512, cpus: 4, capped: [] });
});
