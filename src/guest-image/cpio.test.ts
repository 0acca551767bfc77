import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeCpioPath, readCpio, writeCpio, type CpioEntry } from './cpio.js';

const entries: CpioEntry[] = [
  { path: 'init', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
  { path: 'bin', type: 'dir' },
  { path: 'bin/sh', type: 'symlink', target: 'busybox' },
  { path: 'dev', type: 'dir' },
  { path: 'dev/console', type: 'char', major: 5, minor: 1 },
  { path: 'bin/busybox', type: 'file', mode: 0o755, data: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]) },
];

test('entries come out sorted (parents first) and read back the same', () => {
  const back = readCpio(writeCpio(entries));
  assert.deepEqual(back.map((e) => e.path), ['bin', 'bin/busybox', 'bin/sh', 'dev', 'dev/console', 'init']);
  const init = back.find((e) => e.path === 'init');
  assert.equal(init?.mode, 0o100755);
  assert.equal(init?.data.toString(), '#!/bin/sh\necho hi\n');
  assert.equal(back.find((e) => e.path === 'bin/sh')?.data.toString(), 'busybox');
  assert.deepEqual(back.find((e) => e.path === 'dev/console')?.rdev, [5, 1]);
});

test('the same entries in another order give the same bytes', () => {
  assert.deepEqual(writeCpio([...entries].reverse()), writeCpio(entries));
});

test('bad or duplicate paths are refused', () => {
  assert.throws(() => normalizeCpioPath('a/../b'));
  assert.throws(() => normalizeCpioPath('/'));
  assert.equal(normalizeCpioPath('/bin/sh'), 'bin/sh');
  assert.throws(() => writeCpio([{ path: 'x', type: 'dir' }, { path: '/x', type: 'dir' }]), /duplicate/);
});

test('cpio(1) extracts it', { skip: spawnable('cpio') ? undefined : 'cpio is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pv-cpio-'));
  try {
    execFileSync('cpio', ['-i', '--quiet', '--no-absolute-filenames', '-D', dir], {
      input: writeCpio(entries.filter((e) => e.type !== 'char')),
    });
    assert.equal(readFileSync(join(dir, 'init'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(statSync(join(dir, 'init')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'busybox');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function spawnable(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
