import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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
  assert.equal(await fsGroupApplied(dir, 4321), false);
  await applyFsGroup(dir, 4321);
  assert.equal(await fsGroupApplied(dir, 4321), true);
  assert.equal(lstatSync(join(dir, 'sub', 'f')).gid, 4321);
  assert.equal(lstatSync(join(dir, 'sub', 'f')).mode & 0o7777, 0o770, 'owner exec gives group exec');
  assert.equal(lstatSync(join(dir, 'sub')).mode & 0o2070, 0o2070);
  assert.equal(await fsGroupApplied(dir, 4322), false, 'another group');
});

test('OnRootMismatch skips the walk when the root has the group, owner and group rw(x) and setgid, as the guest agent decides', { skip: root }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-fsgroup-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'x');
  chmodSync(dir, 0o755);
  // The root is wrong: walked, as with Always.
  assert.equal(await applyFsGroup(dir, 4321, 'OnRootMismatch'), true);
  assert.equal(lstatSync(join(dir, 'f')).gid, 4321);
  // A file changed below a root that is right: left as it is with OnRootMismatch, fixed with Always.
  chownSync(join(dir, 'f'), 0, 0);
  assert.equal(await applyFsGroup(dir, 4321, 'OnRootMismatch'), false);
  assert.equal(lstatSync(join(dir, 'f')).gid, 0);
  assert.equal(await applyFsGroup(dir, 4321), true);
  assert.equal(lstatSync(join(dir, 'f')).gid, 4321);

  // The same roots the agent takes as right or wrong (Kubernetes' requiresPermissionChange); only read-write
  // volumes get an fsGroup.
  for (const mode of [0o2770, 0o2750, 0o2070, 0o0770, 0o2550]) {
    chmodSync(dir, mode);
    const agentSkips = !rootNeedsChange(lstatSync(dir), 4321, false);
    assert.equal(await fsGroupApplied(dir, 4321), agentSkips, `root ${mode.toString(8)}`);
    assert.equal(await applyFsGroup(dir, 4321, 'OnRootMismatch'), !agentSkips);
    assert.equal(await fsGroupApplied(dir, 4321), true, 'a walk leaves a root OnRootMismatch skips');
  }
  chownSync(dir, 0, 0);
  assert.equal(await applyFsGroup(dir, 4321, 'OnRootMismatch'), true, 'another group on the root');
});

/** A tree to walk and a directory outside it (mode 0700, a 0600 file) the walk must never touch. */
function treeAndOutside(): { dir: string; outside: string } {
  const base = mkdtempSync(join(tmpdir(), 'passvol-fsgroup-'));
  after(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'volume');
  const outside = join(base, 'etc');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'sub', 'f'), 'x');
  mkdirSync(outside, { mode: 0o700 });
  chmodSync(outside, 0o700);
  writeFileSync(join(outside, 'secret'), 's', { mode: 0o600 });
  return { dir, outside };
}

function assertUntouched(outside: string): void {
  assert.equal(statSync(outside).mode & 0o7777, 0o700, 'the outside directory keeps its mode');
  assert.equal(statSync(outside).gid, 0);
  assert.equal(statSync(join(outside, 'secret')).mode & 0o7777, 0o600, 'and so does the file in it');
  assert.equal(statSync(join(outside, 'secret')).gid, 0);
}

test('a symlink in the volume gets its own group; what it points to is left alone', { skip: root }, async () => {
  const { dir, outside } = treeAndOutside();
  symlinkSync(outside, join(dir, 'link'));
  await applyFsGroup(dir, 4321);
  assertUntouched(outside);
  assert.equal(lstatSync(join(dir, 'link')).gid, 4321);
});

test('a directory swapped for a symlink to outside the volume while the walk is at it: the walk stays on what it opened', { skip: root }, async () => {
  const { dir, outside } = treeAndOutside();
  // What a container does on a volume in use: the moment the walk has looked at sub (by lstat or by opening
  // it), sub is moved away and a symlink to the host's directory takes its name.
  let swapped = false;
  const swapAfterLook = (p: unknown) => {
    if (swapped || typeof p !== 'string' || basename(p) !== 'sub') return;
    swapped = true;
    renameSync(join(dir, 'sub'), join(dir, 'sub.moved'));
    symlinkSync(outside, join(dir, 'sub'));
  };
  const real = { lstat: fsp.lstat, open: fsp.open };
  fsp.lstat = (async (...a: Parameters<typeof fsp.lstat>) => {
    const r = await real.lstat(...a);
    swapAfterLook(a[0]);
    return r;
  }) as typeof fsp.lstat;
  fsp.open = (async (...a: Parameters<typeof fsp.open>) => {
    const r = await real.open(...a);
    swapAfterLook(a[0]);
    return r;
  }) as typeof fsp.open;
  syncBuiltinESMExports();
  try {
    await applyFsGroup(dir, 4321);
  } finally {
    Object.assign(fsp, real);
    syncBuiltinESMExports();
  }
  assert.ok(swapped, 'the walk looked at sub');
  assertUntouched(outside);
  assert.equal(statSync(join(dir, 'sub.moved', 'f')).gid, 4321, 'the directory it opened was walked');
  assert.equal(statSync(join(dir, 'sub.moved')).mode & 0o2070, 0o2070);
});

test('a filesystem mounted below the volume is not walked', { skip: root }, async (t) => {
  const { dir } = treeAndOutside();
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0700,size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    t.skip('cannot mount a tmpfs here');
    return;
  }
  try {
    writeFileSync(join(mnt, 'other'), 'x', { mode: 0o600 });
    await applyFsGroup(dir, 4321);
    assert.equal(statSync(mnt).mode & 0o7777, 0o700);
    assert.equal(statSync(join(mnt, 'other')).gid, 0);
    assert.equal(statSync(join(dir, 'sub', 'f')).gid, 4321);
  } finally {
    execFileSync('umount', [mnt]);
  }
});
