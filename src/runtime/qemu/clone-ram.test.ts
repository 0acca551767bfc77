import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, openSync, writeSync, closeSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneRamPath, copyTemplateRam } from './clone-ram.js';

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-clone-ram-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the copy keeps the template RAM’s holes: only what the guest touched takes space', async () => {
  const dir = scratch();
  const ram = join(dir, 'ram');
  writeFileSync(ram, '');
  truncateSync(ram, 64 * 2 ** 20);
  const fd = openSync(ram, 'r+');
  writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 32 * 2 ** 20);
  closeSync(fd);
  const copy = cloneRamPath(ram, 'passvol-sb1');
  assert.match(copy, /\/ram\.clone-passvol-sb1-[0-9a-f]{8}$/);
  assert.notEqual(cloneRamPath(ram, 'passvol-sb1'), copy, 'unique per call');
  await copyTemplateRam(ram, copy, 64);
  assert.equal(statSync(copy).size, 64 * 2 ** 20);
  assert.ok(statSync(copy).blocks * 512 < 1 * 2 ** 20, 'sparse');
  assert.equal(readFileSync(copy)[32 * 2 ** 20], 7);
});

test('a clone the filesystem cannot hold is refused before anything is copied', async () => {
  const dir = scratch();
  const ram = join(dir, 'ram');
  writeFileSync(ram, 'x');
  const copy = join(dir, 'copy');
  await assert.rejects(copyTemplateRam(ram, copy, 1024 ** 3), (e: Error & { code?: string }) => e.code === 'PV_ERR_RESOURCE_EXHAUSTED' && /MiB free in .*, a clone needs/.test(e.message));
  assert.ok(!existsSync(copy));
});
