// What goes wrong in production, and what the runtime does about it: each case gets a clear error and
// leaves nothing bound, plugged, mounted or running, and no data lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { readBundle } from '../../src/runtime/oci/bundle.js';
import type { AgentClient } from '../../src/runtime/agent-client.js';
import { Sandbox } from '../../src/runtime/sandbox/sandbox.js';
import { cleanupOrphans } from '../../src/runtime/sandbox/orphan-cleanup.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { sandboxFixture, sandboxSkip } from '../helpers/sandbox-fixture.js';

const skip = sandboxSkip;

/** Waits until the container has written the file (its process runs in the background). */
async function seenInContainer(sb: Sandbox, path: string): Promise<void> {
  for (let i = 0; i < 100 && !(await sb.exec(['/bin/cat', path]).catch(() => ({ stdout: '' }))).stdout; i++) await new Promise((r) => setTimeout(r, 100));
}

async function setup() {
  const { root, records, deps, dev, target } = await sandboxFixture('passvol-e2e-fail-');
  const bundle = (name: string, args: string[]) => readBundle(writeBundle(join(root, name), args, [{ destination: '/data', source: target }]));
  const leftovers = () => spawnSync('pgrep', ['-af', root], { encoding: 'utf8' }).stdout.trim();
  /** A file of the disk as the host sees it once no sandbox holds it. */
  const readOnHost = (name: string) => {
    const check = join(root, 'check');
    mkdirSync(check, { recursive: true });
    execFileSync('mount', [dev, check]);
    try {
      return readFileSync(join(check, name), 'utf8');
    } finally {
      execFileSync('umount', [check]);
    }
  };
  return { root, records, deps, dev, target, bundle, leftovers, readOnHost };
}

test('a disk mounted and busy on the host is refused; one merely mounted is unmounted first', { skip, timeout: 300_000 }, async () => {
  const s = await setup();
  const hostMount = join(s.root, 'hostmount');
  mkdirSync(hostMount);
  execFileSync('mount', [s.dev, hostMount]);
  writeFileSync(join(hostMount, 'from-host.txt'), 'host\n');
  // Busy: a process works inside the mount, so it cannot be unmounted.
  const busy = spawn('sleep', ['300'], { cwd: hostMount, stdio: 'ignore' });
  try {
    await assert.rejects(Sandbox.create('busy', await s.bundle('b1', ['/bin/true']), s.deps), /mounted at .*hostmount on the host and cannot be unmounted/);
  } finally {
    busy.kill('SIGKILL');
    await new Promise((r) => busy.once('exit', r));
  }
  assert.equal(await s.records.sandboxOf(s.target), undefined, 'no binding left');
  assert.equal(s.leftovers(), '', 'no VM left');
  // Not busy any more: the runtime unmounts it and the guest sees the host's file.
  const sb = await Sandbox.create('freed', await s.bundle('b2', ['/bin/cat', '/data/from-host.txt']), s.deps);
  let out = '';
  try {
    await sb.start((_x, d) => (out += d));
    assert.equal(await sb.wait(), 0);
  } finally {
    await sb.destroy();
  }
  assert.equal(out, 'host\n');
  assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(` ${hostMount} `), 'the host mount was undone');
});

test('two sandboxes claiming one volume: the second is refused while the first runs', { skip, timeout: 300_000 }, async () => {
  const s = await setup();
  const first = await Sandbox.create('first', await s.bundle('b1', ['/bin/sleep', '300']), s.deps);
  try {
    await first.start(() => undefined);
    await assert.rejects(Sandbox.create('second', await s.bundle('b2', ['/bin/true']), s.deps), /in use by running sandbox first/);
    assert.equal(await s.records.sandboxOf(s.target), 'first');
  } finally {
    await first.kill('SIGKILL').catch(() => undefined);
    await first.destroy();
  }
  assert.equal(s.leftovers(), '');
});

test('the VM killed mid-run: gc releases the binding, the data written before is intact', { skip, timeout: 300_000 }, async () => {
  const s = await setup();
  const sb = await Sandbox.create('doomed', await s.bundle('b1', ['/bin/sh', '-c', 'echo before-crash > /data/kept.txt; sync; sleep 300']), s.deps);
  await sb.start(() => undefined);
  await seenInContainer(sb, '/data/kept.txt');
  const state = JSON.parse(readFileSync(join(s.root, 'sandboxes/doomed/state.json'), 'utf8')) as { vmPid: number };
  process.kill(state.vmPid, 'SIGKILL');
  await assert.rejects(sb.exec(['/bin/true']), /closed|not answer|unreachable/i);
  // The live runtime notices: its monitor socket goes (no caller hangs on a dead VM) and the state says stopped.
  for (let i = 0; i < 200 && existsSync(sb.monitorSocket); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(existsSync(sb.monitorSocket), false, 'the monitor socket of a dead sandbox is gone');
  for (let i = 0; i < 200 && (await s.deps.dirs.read('doomed'))?.status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await s.deps.dirs.read('doomed'))?.status, 'stopped');
  // The runtime process itself "crashed" too: what is left is cleaned by gc, as an operator would run it.
  const sandboxes = s.deps.dirs;
  const st = await sandboxes.read('doomed');
  await sandboxes.write({ ...st!, runtimePid: 999_999_999 });
  const report = await cleanupOrphans(sandboxes, s.records, pino({ level: 'silent' }));
  assert.deepEqual(report.map((r) => [r.sandbox, r.releasedVolumes]), [['doomed', [s.target]]]);
  assert.equal(await s.records.sandboxOf(s.target), undefined);
  assert.equal(s.leftovers(), '');
  assert.equal(s.readOnHost('kept.txt'), 'before-crash\n');
});

test('the guest agent restarted mid-run: the sandbox says stopped, its monitor goes, and delete cleans up with data kept', { skip, timeout: 300_000 }, async () => {
  const s = await setup();
  const sb = await Sandbox.create('agent-restart', await s.bundle('b-restart', ['/bin/sh', '-c', 'echo before-restart > /data/agent.txt; sync; sleep 300']), s.deps);
  try {
    await sb.start(() => undefined);
    await seenInContainer(sb, '/data/agent.txt');
    // The agent ends (as after a crash, init starts a new one, which knows nothing of the container).
    const agent = (sb as unknown as { agent: AgentClient }).agent;
    await agent.call('shutdown', {}, 60_000);
    for (let i = 0; i < 300 && (await s.deps.dirs.read('agent-restart'))?.status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await s.deps.dirs.read('agent-restart'))?.status, 'stopped', 'the new agent announced itself: the container is gone');
    assert.equal(existsSync(sb.monitorSocket), false, 'no stats or resize against a container that is gone');
    await assert.rejects(sb.exec(['/bin/true']), /stopped|not running|no container|unreachable|gone/i);
  } finally {
    await sb.destroy();
  }
  assert.equal(await s.records.sandboxOf(s.target), undefined, 'the binding is released');
  assert.equal(s.leftovers(), '');
  assert.equal(s.readOnHost('agent.txt'), 'before-restart\n');
});

test('a record naming a device that does not exist is refused before anything starts', { skip, timeout: 120_000 }, async () => {
  const s = await setup();
  await s.records.add(s.target, { 'volume-type': 'directvol', device: '/dev/does-not-exist', fstype: 'ext4' });
  await assert.rejects(Sandbox.create('bad', await s.bundle('b1', ['/bin/true']), s.deps), /device \/dev\/does-not-exist named by the record does not exist/);
  assert.equal(await s.records.sandboxOf(s.target), undefined);
  assert.equal(s.leftovers(), '');
  assert.deepEqual(await s.deps.dirs.list(), []);
});

test("limits the kernel would refuse (a CPU period of 10 µs) fail the create before a VM starts, naming the field", { skip, timeout: 120_000 }, async () => {
  const s = await setup();
  const b = await s.bundle('b1', ['/bin/true']);
  b.spec.linux = { namespaces: [], ...b.spec.linux, resources: { cpu: { quota: 5000, period: 10 } } };
  let launched = 0;
  const deps = { ...s.deps, launchVm: (...a: Parameters<typeof s.deps.launchVm>) => (launched++, s.deps.launchVm(...a)) };
  await assert.rejects(Sandbox.create('bad-limits', b, deps), /linux\.resources\.cpu\.period 10 is outside/);
  assert.equal(launched, 0, 'no VM was started');
  assert.equal(await s.records.sandboxOf(s.target), undefined);
  assert.equal(s.leftovers(), '');
  assert.deepEqual(await s.deps.dirs.list(), []);
});

test('destroy while the container still runs: it is stopped and the disk unmounted in the guest first, so unsynced data is kept', { skip, timeout: 300_000 }, async () => {
  const s = await setup();
  const sb = await Sandbox.create('busy-teardown', await s.bundle('b1', ['/bin/sh', '-c', 'echo written-not-synced > /data/late.txt; sleep 300']), s.deps);
  try {
    await sb.start(() => undefined);
    await seenInContainer(sb, '/data/late.txt');
  } finally {
    await sb.destroy();
  }
  assert.equal(await s.records.sandboxOf(s.target), undefined, 'binding released');
  assert.equal(s.leftovers(), '');
  assert.equal(s.readOnHost('late.txt'), 'written-not-synced\n');
});
