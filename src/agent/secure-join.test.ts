import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInRoot, openDirInRoot, resolveInRoot } from './secure-join.js';

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

test("an exec's working directory is found through descriptors, within the root whatever the links say", async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'pv-sj-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'real/dir'), { recursive: true });
  await mkdir(join(root, 'etc'));
  await symlink('/etc', join(root, 'abs'));
  await symlink('../../../../..', join(root, 'up'));
  await symlink('real', join(root, 'rel'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  await writeFile(join(root, 'file'), '');
  const inode = async (path: string) => {
    const h = await openDirInRoot(root, path);
    try {
      return (await h.stat()).ino;
    } finally {
      await h.close();
    }
  };
  assert.equal(await inode('/abs'), (await stat(join(root, 'etc'))).ino, 'an absolute link restarts at the root, not at the host /etc');
  assert.equal(await inode('/up'), (await stat(root)).ino, '".." stops at the root');
  assert.equal(await inode('/rel/dir/..'), (await stat(join(root, 'real'))).ino);
  assert.equal(await inode('/'), (await stat(root)).ino);
  await assert.rejects(openDirInRoot(root, '/missing'), (e: { code?: string }) => e.code === 'NOT_FOUND');
  await assert.rejects(openDirInRoot(root, '/file'), /is not a directory/);
  await assert.rejects(openDirInRoot(root, '/loop1'), /too many symlinks/);
});
