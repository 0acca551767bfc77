import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimScratch, reclaimAbandonedScratch } from './scratch-cleanup.js';

test('scratch folders of a run that died are reclaimed with their processes; a live run\'s and unowned ones stay', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'passvol-reclaim-'));
  after(() => rmSync(parent, { recursive: true, force: true }));
  const dead = join(parent, 'run-dead');
  const live = join(parent, 'run-live');
  const unowned = join(parent, 'run-unowned');
  for (const d of [dead, live, unowned]) mkdirSync(d);
  writeFileSync(join(dead, 'owner.pid'), `${spawnSync('true').pid}\n`);
  claimScratch(live);
  // What the dead run started (a VM, a server) names files of its folder.
  const left = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', join(dead, 'vm', 'qmp.sock')]);
  after(() => left.kill('SIGKILL'));
  const exited = new Promise((r) => left.once('exit', r));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(reclaimAbandonedScratch(parent, 'run-'), [dead]);
  await exited;
  assert.equal(existsSync(dead), false);
  assert.equal(existsSync(live), true);
  assert.equal(existsSync(unowned), true);
});
