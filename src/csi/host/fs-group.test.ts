import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyFsGroup, fsGroupApplied } from './fs-group.js';
import { rootNeedsChange } from '../../agent/fs-group.js';

const root = process.getuid?.() === 0 ? false : 'chown to another group needs root';

test('fsGroup: group, group rw and setgid everywhere; the root, fixed last, tells whether it is done', { skip: root }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-fsgroup-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'f'), 'x');
  chmodSync(join(dir, 'sub', 'f'), 0o700);
  chmodSync(dir, 0o755);
  assert.equal(await fsGroupApplied(dir, 4321, false), false);
  await applyFsGroup(dir, 4321, false);
  assert.equal(await fsGroupApplied(dir, 4321, false), true);
  assert.equal(lstatSync(join(dir, 'sub', 'f')).gid, 4321);
  assert.equal(lstatSync(join(dir, 'sub', 'f')).mode & 0o7777, 0o770, 'owner exec gives group exec');
  assert.equal(lstatSync(join(dir, 'sub')).mode & 0o2070, 0o2070);
  assert.equal(await fsGroupApplied(dir, 4322, false), false, 'another group');
});

test('OnRootMismatch skips the walk when the root has the group, owner and group rw(x) and setgid, as the guest agent decides', { skip: root }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-fsgroup-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'x');
  chmodSync(dir, 0o755);
  // The root is wrong: walked, as with Always.
  assert.equal(await applyFsGroup(dir, 4321, false, 'OnRootMismatch'), true);
  assert.equal(lstatSync(join(dir, 'f')).gid, 4321);
  // A file changed below a root that is right: left as it is with OnRootMismatch, fixed with Always.
  chownSync(join(dir, 'f'), 0, 0);
  assert.equal(await applyFsGroup(dir, 4321, false, 'OnRootMismatch'), false);
  assert.equal(lstatSync(join(dir, 'f')).gid, 0);
  assert.equal(await applyFsGroup(dir, 4321, false), true);
  assert.equal(lstatSync(join(dir, 'f')).gid, 4321);

  // The same roots the agent takes as right or wrong (Kubernetes' requiresPermissionChange), read-write and read-only.
  for (const [mode, readonly] of [[0o2770, false], [0o2750, false], [0o2070, false], [0o0770, false], [0o2550, true], [0o2500, true], [0o2440, true]] as const) {
    chmodSync(dir, mode);
    const agentSkips = !rootNeedsChange(lstatSync(dir), 4321, readonly);
    assert.equal(await fsGroupApplied(dir, 4321, readonly), agentSkips, `root ${mode.toString(8)} ${readonly ? 'ro' : 'rw'}`);
    assert.equal(await applyFsGroup(dir, 4321, readonly, 'OnRootMismatch'), !agentSkips);
    assert.equal(await fsGroupApplied(dir, 4321, readonly), true, 'a walk leaves a root OnRootMismatch skips');
  }
  chownSync(dir, 0, 0);
  assert.equal(await applyFsGroup(dir, 4321, false, 'OnRootMismatch'), true, 'another group on the root');
});
