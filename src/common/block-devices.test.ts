// Needs root for the loop device; the image-file half runs anywhere.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskBytes, majorMinor } from './block-devices.js';

const dir = mkdtempSync(join(tmpdir(), 'passvol-bdev-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const image = join(dir, 'disk.img');
writeFileSync(image, '');
truncateSync(image, 3 * 1024 * 1024 + 512);

test('an image file is as big as its length', async () => {
  assert.equal(await diskBytes(image), 3 * 1024 * 1024 + 512);
});

test('a loop device is as big as blockdev says, and numbered as stat says', { skip: process.getuid?.() !== 0 && 'needs root for losetup' }, async () => {
  const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  try {
    assert.equal(await diskBytes(loop), Number(execFileSync('blockdev', ['--getsize64', loop], { encoding: 'utf8' }).trim()));
    const [major, minor] = execFileSync('stat', ['-c', '%t %T', loop], { encoding: 'utf8' }).trim().split(' ').map((h) => parseInt(h, 16));
    assert.equal(majorMinor(statSync(loop).rdev), `${major}:${minor}`);
  } finally {
    execFileSync('losetup', ['-d', loop]);
  }
});
