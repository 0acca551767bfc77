// The pod's cgroup on this host's real cgroup filesystems (v1 controllers here, and the v2 hierarchy when
// mounted): the process joins the path in every hierarchy, what it starts after is in it too, and leaving
// puts it back and removes the folders; a join that fails part-way is undone. Needs root (writes cgroups).
// The test's path is relative, so it nests under the test's own cgroups and never escapes their limits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RecordStore } from '../../../src/directvolume/index.js';
import { cleanupOrphans } from '../../../src/runtime/sandbox/orphan-cleanup.js';
import { cgroupDir, cgroupHierarchies, joinCgroup, leaveCgroup, removeCgroupDirs } from '../../../src/runtime/sandbox/pod-cgroup.js';
import { SandboxDirs } from '../../../src/runtime/sandbox/sandbox-dir.js';

const skip = process.getuid?.() !== 0 ? 'needs root: writes cgroups' : !existsSync('/proc/self/cgroup') ? 'no cgroups on this host' : false;
const log = pino({ level: 'silent' });

const cgroupOf = (pid: number | 'self') => readFileSync(`/proc/${pid}/cgroup`, 'utf8');

test("a sandbox's process joins the pod's cgroup in every hierarchy, its children follow, and leaving removes it", { skip }, async () => {
  const hierarchies = await cgroupHierarchies();
  assert.ok(hierarchies.length > 0, 'at least one cgroup hierarchy is mounted');
  const path = `passvol-test-${process.pid}/pod-a/sandbox-1`;
  after(() => {
    for (const h of hierarchies) {
      for (const p of [path, `passvol-test-${process.pid}/pod-a`, `passvol-test-${process.pid}`]) {
        if (existsSync(cgroupDir(h, p))) rmdirSync(cgroupDir(h, p));
      }
    }
  });
  const before = cgroupOf('self');
  const joined = await joinCgroup(path, hierarchies, log);
  assert.equal(joined.dirs.length, hierarchies.length);
  for (const dir of joined.dirs) assert.match(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), new RegExp(`^${process.pid}$`, 'm'), `${dir} holds this process`);
  // A child started now (as QEMU would be) is in the pod's cgroup, in every hierarchy.
  const child = spawn('sleep', ['30']);
  const lines = cgroupOf(child.pid as number).trim().split('\n');
  for (const h of hierarchies) {
    const line = lines.find((l) => (h.version === 2 ? l.startsWith('0::') : h.controllers.every((c) => l.split(':')[1]?.split(',').includes(c))));
    assert.ok(line?.endsWith(`/${path}`), `the child is in ${path} for ${h.mount}: ${line}`);
  }
  // A busy cgroup is kept, not forced.
  assert.deepEqual(await removeCgroupDirs(joined.dirs.slice(0, 1), log, 100), joined.dirs.slice(0, 1));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.deepEqual(await leaveCgroup(joined, log), [], 'every folder removed once empty');
  assert.equal(cgroupOf('self'), before, 'the process is back where it was');
  for (const dir of joined.dirs) assert.equal(existsSync(dir), false, `${dir} removed`);
  // The pod's own folders (kubelet's) are left alone.
  for (const h of hierarchies) assert.equal(existsSync(cgroupDir(h, `passvol-test-${process.pid}/pod-a`)), true);
});

test('a join that fails in one hierarchy is undone in the others, with an error naming the path', { skip }, async () => {
  const [real] = await cgroupHierarchies();
  assert.ok(real);
  const scratch = mkdtempSync(join(tmpdir(), 'passvol-cgroup-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  // A "hierarchy" whose mount is a file: its folder cannot be made.
  writeFileSync(join(scratch, 'not-a-dir'), '');
  const broken = { mount: join(scratch, 'not-a-dir'), version: 2 as const, controllers: [], current: join(scratch, 'not-a-dir') };
  const path = `passvol-test-${process.pid}-b`;
  const before = cgroupOf('self');
  await assert.rejects(joinCgroup(path, [real, broken], log), (e: Error) => e.message.includes(`cannot join the pod's cgroup ${path}`));
  assert.equal(cgroupOf('self'), before, 'moved back');
  assert.equal(existsSync(cgroupDir(real, path)), false, 'the folder made in the real hierarchy is removed');
  // A cgroup that is there already is another's: not joined, and so never removed at teardown.
  mkdirSync(cgroupDir(real, path));
  after(() => rmdirSync(cgroupDir(real, path)));
  await assert.rejects(joinCgroup(path, [real], log), /exists already/);
  assert.equal(cgroupOf('self'), before);
  assert.equal(existsSync(cgroupDir(real, path)), true);
});

test("gc removes the pod's cgroups a crashed runtime left, and keeps one a process is still in", { skip }, async () => {
  const hierarchies = await cgroupHierarchies();
  const root = mkdtempSync(join(tmpdir(), 'passvol-cgroup-gc-'));
  const sandboxes = new SandboxDirs(join(root, 'sandboxes'));
  const base = `passvol-test-${process.pid}-gc`;
  const straggler = spawn('sleep', ['60']);
  after(() => {
    straggler.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });
  const deadPid = spawnSync('true').pid as number;
  for (const id of ['empty', 'busy']) {
    const dirs = hierarchies.map((h) => cgroupDir(h, `${base}/${id}`));
    for (const d of dirs) mkdirSync(d, { recursive: true });
    await sandboxes.create(id);
    await sandboxes.write({ id, bundle: '/b', status: 'running', runtimePid: deadPid, createdAt: new Date().toISOString(), boundVolumes: [], cgroupDirs: dirs });
  }
  // A process of the busy sandbox's that outlived it (a v1 hierarchy: no cpuset to fill in for memory).
  const memory = hierarchies.find((h) => h.controllers.includes('memory')) ?? hierarchies[0];
  assert.ok(memory);
  writeFileSync(join(cgroupDir(memory, `${base}/busy`), 'cgroup.procs'), String(straggler.pid));
  after(() => {
    for (const h of hierarchies) for (const p of [`${base}/busy`, `${base}/empty`, base]) if (existsSync(cgroupDir(h, p))) rmdirSync(cgroupDir(h, p));
  });
  const report = await cleanupOrphans(sandboxes, new RecordStore(join(root, 'dv')), log);
  assert.deepEqual(report.map((r) => [r.sandbox, r.cgroupsKept ?? false]), [['busy', true], ['empty', false]]);
  for (const h of hierarchies) assert.equal(existsSync(cgroupDir(h, `${base}/empty`)), false, `removed from ${h.mount}`);
  assert.equal(existsSync(cgroupDir(memory, `${base}/busy`)), true, 'the cgroup with a process in it is kept');
  assert.deepEqual(await sandboxes.list(), ['busy'], "and so is that sandbox's state, for the next gc");
  // Its last process ends (and is reaped): the next gc removes the cgroup and the state.
  straggler.kill('SIGKILL');
  await new Promise((r) => straggler.once('exit', r));
  assert.deepEqual((await cleanupOrphans(sandboxes, new RecordStore(join(root, 'dv')), log)).map((r) => [r.sandbox, r.cgroupsKept ?? false]), [['busy', false]]);
  for (const h of hierarchies) assert.equal(existsSync(cgroupDir(h, `${base}/busy`)), false, `removed from ${h.mount}`);
  assert.deepEqual(await sandboxes.list(), []);
});
