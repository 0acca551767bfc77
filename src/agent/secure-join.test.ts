import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInRoot, resolveInRoot } from './secure-join.js';

test('symlinks in an image cannot lead a destination out of the rootfs', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'pv-sj-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'real/dir'), { recursive: true });
  await symlink('/etc', join(root, 'abs'));
  await symlink('../../../../..', join(root, 'up'));
  await symlink('real', join(root, 'rel'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  assert.equal(await resolveInRoot(root, '/abs/passwd'), join(root, 'etc/passwd'));
  assert.equal(await resolveInRoot(root, '/up/etc'), join(root, 'etc'));
  assert.equal(await resolveInRoot(root, '/rel/dir'), join(root, 'real/dir'));
  assert.equal(await resolveInRoot(root, '/missing/a/../b'), join(root, 'missing/b'));
  await assert.rejects(resolveInRoot(root, '/loop1'), /too many symlinks/);
  const made = await ensureInRoot(root, '/abs/new', 'dir');
  assert.equal(made, join(root, 'etc/new'));
  assert.ok((await stat(made)).isDirectory());
  const file = await ensureInRoot(root, '/up/hosts', 'file');
  assert.equal(file, join(root, 'hosts'));
  assert.ok((await stat(file)).isFile());
  await assert.rejects(ensureInRoot(root, '/up', 'dir'), /resolves to the container's root/);
});
