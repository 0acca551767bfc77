import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyFsGroup, rootNeedsChange } from './fs-group.js';

const skip = process.getuid?.() === 0 ? false : 'needs root to change file groups';

test('Always: group, g+rw on files, g+rwx and setgid on directories, symlinks only chgrp', { skip }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'pv-fsg-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'sub'));
  await writeFile(join(root, 'sub/file'), 'x');
  await chmod(join(root, 'sub/file'), 0o600);
  await writeFile(join(root, 'exe'), 'x');
  await chmod(join(root, 'exe'), 0o4755);
  await symlink('/etc/passwd', join(root, 'link'));
  await chmod(root, 0o700);
  const r = await applyFsGroup(root, 4242);
  assert.deepEqual(r, { changed: true, entries: 5 });
  const mode = async (p: string): Promise<string> => ((await stat(join(root, p))).mode & 0o7777).toString(8);
  assert.equal((await stat(root)).gid, 4242);
  assert.equal(await mode(''), '2770');
  assert.equal(await mode('sub'), '2770'.replace('770', (0o755 | 0o660 | 0o110).toString(8).slice(-3)));
  assert.equal(await mode('sub/file'), '660');
  assert.equal(await mode('exe'), '4775');
  assert.equal((await stat(join(root, 'sub/file'))).gid, 4242);
  assert.equal((await lstat(join(root, 'link'))).gid, 4242);
  assert.notEqual((await stat('/etc/passwd')).gid, 4242);
});

test('OnRootMismatch skips a volume whose root is already right, and fixes one that is not', { skip }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'pv-fsg-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'f'), 'x');
  assert.ok(rootNeedsChange(await stat(root), 4243, false));
  assert.deepEqual(await applyFsGroup(root, 4243, { policy: 'OnRootMismatch' }), { changed: true, entries: 2 });
  assert.equal(rootNeedsChange(await stat(root), 4243, false), false);
  await chmod(join(root, 'f'), 0o600); // a file inside is off, but the root is right: skipped
  assert.deepEqual(await applyFsGroup(root, 4243, { policy: 'OnRootMismatch' }), { changed: false, entries: 0 });
  assert.equal((await stat(join(root, 'f'))).mode & 0o777, 0o600);
  assert.deepEqual(await applyFsGroup(root, 4243, { policy: 'Always' }), { changed: true, entries: 2 });
  assert.equal((await stat(join(root, 'f'))).mode & 0o777, 0o660);
});
