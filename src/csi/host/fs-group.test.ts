import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyFsGroup, fsGroupApplied } from './fs-group.js';

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
