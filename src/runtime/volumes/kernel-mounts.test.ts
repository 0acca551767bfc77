import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelMountOf } from './kernel-mounts.js';

const m = (type: string | undefined, destination: string, options: string[] = [], source?: string) => ({ destination, options, ...(type ? { type } : {}), ...(source ? { source } : {}) });
const refused = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (e: unknown) => (e as { code?: string }).code === 'PV_ERR_INVALID_ARGUMENT' && pattern.test((e as Error).message));
};

test("the runtime spec's default mounts: proc and /dev are left to the agent, the rest pass on", () => {
  assert.equal(kernelMountOf(m('proc', '/proc', ['nosuid', 'noexec', 'nodev'])), undefined);
  assert.equal(kernelMountOf(m('tmpfs', '/dev', ['nosuid', 'strictatime', 'mode=755', 'size=65536k'])), undefined);
  assert.deepEqual(kernelMountOf(m('devpts', '/dev/pts', ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'])), {
    fstype: 'devpts', destination: '/dev/pts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
  });
  assert.deepEqual(kernelMountOf(m('sysfs', '/sys', ['nosuid', 'noexec', 'nodev', 'ro'])), { fstype: 'sysfs', destination: '/sys', options: ['nosuid', 'noexec', 'nodev', 'ro'] });
  assert.deepEqual(kernelMountOf(m('mqueue', '/dev/mqueue', ['nosuid', 'noexec', 'nodev'])), { fstype: 'mqueue', destination: '/dev/mqueue', options: ['nosuid', 'noexec', 'nodev'] });
});

test('cgroup becomes cgroup2 and propagation flags are dropped (the container namespace is private)', () => {
  assert.deepEqual(kernelMountOf(m('cgroup', '/sys/fs/cgroup', ['nosuid', 'noexec', 'nodev', 'relatime', 'ro', 'rprivate'])), {
    fstype: 'cgroup2', destination: '/sys/fs/cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
  });
  assert.deepEqual(kernelMountOf(m('tmpfs', '/scratch', ['size=1m', 'rslave', 'shared'])), { fstype: 'tmpfs', destination: '/scratch', options: ['size=1m'] });
});

test('other types, proc elsewhere and binds without a host path are refused, naming the mount', () => {
  refused(() => kernelMountOf(m('ext4', '/data')), /mount at \/data: type "ext4" is not offered.*cgroup/);
  refused(() => kernelMountOf(m('proc', '/host-proc')), /proc is mounted at \/proc only/);
  refused(() => kernelMountOf(m(undefined, '/x')), /mount at \/x: no type/);
  refused(() => kernelMountOf(m('bind', '/x', [], 'relative/dir')), /absolute host source, not "relative\/dir"/);
  refused(() => kernelMountOf(m('none', '/x', ['rbind'], 'rel')), /absolute host source/);
});
