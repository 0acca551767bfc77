// containerd drives passvol sandboxes through containerd-shim-passvol-v2 (runtime io.containerd.passvol.v2):
// a pod as CRI lays it out (a sandbox task, then a container that joins its VM with an image rootfs and a
// passed-through disk), a single container with stdin and an exit code, a restart of containerd, and a shim killed mid-run, after
// which containerd's `delete` leaves nothing behind. Real containerd 1.6 from Debian, real VMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { RecordStore } from '../../src/directvolume/index.js';
import { sandboxIdOf } from '../../src/runtime/containerd/task-service.js';
import { cgroupDir, cgroupHierarchies } from '../../src/runtime/sandbox/pod-cgroup.js';
import { containerdSkip, ociImageArchive, startContainerd, type Containerd } from '../helpers/containerd.js';
import { ext4LoopDisk, undoMountsAndLoops } from '../helpers/host-cleanup.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { runCli } from '../helpers/run-cli.js';
import { sandboxSkip } from '../helpers/sandbox-fixture.js';
import { waitFor } from '../helpers/vm.js';

const skip = sandboxSkip || containerdSkip;
const RUNTIME = ['--runtime', 'io.containerd.passvol.v2'];
// Ids as CRI makes them: 64 hex digits (QEMU's socket paths must still fit under the sandbox's folder).
const POD_ID = createHash('sha256').update('pod').digest('hex');
const C1 = createHash('sha256').update('c1').digest('hex');
const POD = `io.kubernetes.cri.sandbox-id=${POD_ID}`;

interface Setup {
  root: string;
  ctd: Containerd;
  records: RecordStore;
  rootfs: string;
  runtimeRoot: string;
  /** Stops containerd and starts it again on the same folders (its shims run on). */
  restart(): Promise<void>;
}

async function setup(prefix: string): Promise<Setup> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const runtimeRoot = join(root, 'sandboxes');
  const dv = join(root, 'dv');
  const shimConfig = { root: dv, runtimeRoot, goShimRoot: join(root, 'sbs'), logLevel: 'info' };
  const s: Setup = { root, ctd: await startContainerd(join(root, 'ctd'), shimConfig), records: new RecordStore(dv), rootfs: '', runtimeRoot, restart: async () => {
    await s.ctd.stop();
    s.ctd = await startContainerd(join(root, 'ctd'), shimConfig);
  } };
  after(async () => {
    await s.ctd.stop();
    // Shims and VMs outlive containerd: they are found by the folder in their argv.
    spawnSync('pkill', ['-KILL', '-f', root]);
    undoMountsAndLoops(root);
    rmSync(root, { recursive: true, force: true });
  });
  s.rootfs = join(writeBundle(join(root, 'bundle'), ['/bin/true'], [{ destination: '/data', source: '/nonexistent' }]), 'rootfs');
  return s;
}

const running = (root: string) => spawnSync('pgrep', ['-f', `qemu-system.*${root}`], { encoding: 'utf8' }).stdout.trim();

test('a pod through containerd: the sandbox task boots a VM, a container joins it with an image rootfs and a passed-through disk', { skip, timeout: 600_000 }, async () => {
  const { root, ctd, records, rootfs, runtimeRoot } = await setup('passvol-ctd-pod-');
  const { dev } = ext4LoopDisk(root);
  const target = join(root, 'target');
  mkdirSync(target);
  await records.add(target, { 'volume-type': 'directvol', device: dev, fstype: 'ext4', options: ['rw', 'nosuid', 'nodev'] });
  const imported = await ctd.ctr(['images', 'import', ociImageArchive(rootfs, join(root, 'image'), 'passvol.test/busybox:1')]);
  assert.equal(imported.code, 0, imported.stderr);

  const sandbox = await ctd.ctr(['run', '-d', ...RUNTIME, '--annotation', POD, '--annotation', 'io.kubernetes.cri.container-type=sandbox', '--rootfs', rootfs, POD_ID, '/bin/sleep', '600']);
  assert.equal(sandbox.code, 0, `${sandbox.stderr}\n${ctd.log().slice(-3000)}`);
  const container = await ctd.ctr(['run', '-d', ...RUNTIME, '--annotation', POD, '--annotation', 'io.kubernetes.cri.container-type=container', '--mount', `type=bind,src=${target},dst=/data,options=rbind:rw`, 'passvol.test/busybox:1', C1, '/bin/sh', '-c', 'echo written > /data/f; exec sleep 600']);
  assert.equal(container.code, 0, `${container.stderr}\n${ctd.log().slice(-3000)}`);

  const tasks = (await ctd.ctr(['task', 'ls'])).stdout;
  const rows = Object.fromEntries(tasks.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).map(([id, pid, status]) => [id, { pid, status }]));
  assert.equal(rows[POD_ID]?.status, 'RUNNING', tasks);
  assert.equal(rows[C1]?.status, 'RUNNING', tasks);
  assert.equal(rows[C1]?.pid, rows[POD_ID]?.pid, 'both tasks report the VM, which they share');
  assert.equal(readdirSync(runtimeRoot).length, 1, 'one sandbox for the pod');
  const addresses = [POD_ID, C1].map((id) => readFileSync(join(root, 'ctd', 'state', 'io.containerd.runtime.v2.task', 'default', id, 'address'), 'utf8'));
  assert.equal(addresses[0], addresses[1], 'one shim serves the pod');
  assert.equal(await records.sandboxOf(target), sandboxIdOf(POD_ID), 'the disk is bound to the pod sandbox');
  const listed = JSON.parse((await runCli(['list', '--runtime-root', runtimeRoot, '--json'])).stdout) as { id: string; status: string }[];
  assert.deepEqual(listed.map((r) => [r.id, r.status]), [[sandboxIdOf(POD_ID), 'running']], 'passvol list shows the sandbox the shim holds');

  // The seeds' check inside the container, through containerd's exec; and the exec's exit code.
  await waitFor(async () => ((await ctd.ctr(['task', 'exec', '--exec-id', 'probe', C1, '/bin/cat', '/data/f'])).stdout === 'written\n' ? true : undefined), 30_000, 'the container wrote its file');
  const ex = await ctd.ctr(['task', 'exec', '--exec-id', 'e1', C1, '/bin/sh', '-c', 'mount | grep -E " on (/|/data) "; exit 4']);
  assert.equal(ex.code, 4, ex.stderr);
  assert.match(ex.stdout, / on \/data type ext4 /, 'the disk is passed through, not shared');
  assert.match(ex.stdout, / on \/ type virtiofs /, "the image's rootfs is shared from the host");
  // An exec is signalled by its own id, and its end is its caller's.
  const long = ctd.ctr(['task', 'exec', '--exec-id', 'long', C1, '/bin/sh', '-c', 'echo > /tmp/long-runs; exec sleep 600']);
  await waitFor(async () => ((await ctd.ctr(['task', 'exec', '--exec-id', `probe-${Date.now()}`, C1, '/bin/cat', '/tmp/long-runs'])).code === 0 ? true : undefined), 30_000, 'the exec runs');
  assert.equal((await ctd.ctr(['task', 'kill', '--exec-id', 'long', '-s', 'SIGKILL', C1])).code, 0);
  assert.equal((await long).code, 137, 'SIGKILL ended the exec');

  for (const id of [C1, POD_ID]) {
    assert.equal((await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code, 0);
    await waitFor(async () => ((await ctd.ctr(['task', 'ls'])).stdout.match(new RegExp(`^${id}\\s+\\d+\\s+STOPPED`, 'm')) ? true : undefined), 30_000, `${id} stopped`);
    const rm = await ctd.ctr(['task', 'rm', id]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await ctd.ctr(['containers', 'rm', id])).code, 0);
  }
  assert.equal(await records.sandboxOf(target), undefined, 'the disk is released');
  assert.deepEqual(readdirSync(runtimeRoot), [], 'no sandbox folder is left');
  assert.equal(running(root), '', 'no VM is left');
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(join(root, 'ctd', 'state')), 'no rootfs stays mounted');
  assert.doesNotMatch(ctd.log(), /could not deliver an event/, 'every event reached containerd');
});

test('ctr run: stdin in, output and the exit code out; a task outlives a containerd restart; a shim killed mid-run is cleaned up by containerd', { skip, timeout: 600_000 }, async () => {
  const setupDone = await setup('passvol-ctd-run-');
  const { root, rootfs, runtimeRoot } = setupDone;
  let ctd = setupDone.ctd;
  const ran = await ctd.ctr(['run', '--rm', ...RUNTIME, '--rootfs', rootfs, 't1', '/bin/sh', '-c', 'cat; echo done; exit 3'], 'through stdin\n');
  assert.equal(ran.stdout, 'through stdin\ndone\n', `${ran.stderr}\n${ctd.log().slice(-3000)}`);
  assert.equal(ran.code, 3);
  assert.deepEqual(readdirSync(runtimeRoot), []);

  const own = join(root, 'own');
  cpSync(rootfs, own, { recursive: true, verbatimSymlinks: true });
  assert.equal((await ctd.ctr(['run', '-d', ...RUNTIME, '--rootfs', own, 't2', '/bin/sleep', '600'])).code, 0);
  assert.notEqual(running(root), '');
  // containerd restarts: the shim and its VM run on, and containerd finds them again by the task's address file.
  await setupDone.restart();
  ctd = setupDone.ctd;
  assert.match((await ctd.ctr(['task', 'ls'])).stdout, /^t2\s+\d+\s+RUNNING/m, ctd.log().split('\n').filter((l) => !/loading plugin/.test(l)).slice(-60).join('\n'));
  assert.equal((await ctd.ctr(['task', 'exec', '--exec-id', 'after-restart', 't2', '/bin/echo', 'still here'])).stdout, 'still here\n');
  // Pause freezes the container's cgroup in the guest (the agent waits for the kernel to say it is frozen).
  assert.equal((await ctd.ctr(['task', 'pause', 't2'])).code, 0);
  assert.match((await ctd.ctr(['task', 'ls'])).stdout, /^t2\s+\d+\s+PAUSED/m);
  assert.equal((await ctd.ctr(['task', 'resume', 't2'])).code, 0);
  assert.match((await ctd.ctr(['task', 'ls'])).stdout, /^t2\s+\d+\s+RUNNING/m);
  const shim = spawnSync('pgrep', ['-f', `containerd-shim-passvol-v2.*${ctd.address}.* serve`], { encoding: 'utf8' }).stdout.trim();
  assert.ok(shim, 'the shim runs');
  process.kill(Number(shim.split('\n')[0]), 'SIGKILL');
  // containerd sees the connection drop and runs the shim's `delete`, which stops the VM and frees what it held.
  await waitFor(async () => (running(root) === '' && readdirSync(runtimeRoot).length === 0 ? true : undefined), 60_000, 'the VM and sandbox of the killed shim are gone');
  const tasks = await waitFor(async () => {
    const ls = (await ctd.ctr(['task', 'ls'])).stdout;
    return /^t2\s/m.test(ls) ? undefined : ls;
  }, 30_000, 'containerd forgets the task');
  assert.doesNotMatch(tasks.value, /t2/);
  // The sandbox's cgroup (ctr's /default/t2) went too, once the VM the dead shim left was reaped.
  for (const h of await cgroupHierarchies()) assert.equal(existsSync(cgroupDir(h, '/default/t2')), false, `no cgroup left in ${h.mount}`);
});
