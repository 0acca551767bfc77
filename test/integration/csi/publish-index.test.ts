// The one-target claim survives what a crash leaves: a claim without its record is taken over, and a
// claim whose record is gone is swept at start-up; but only this driver's, and only once it is old enough
// not to be a publish in flight (a claim is written just before its record).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, lutimesSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { csiFixture, provisionAndStage, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

/** Whether the claim (a symlink, whose target may not exist) is there. */
const present = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;
const hash = (id: string) => createHash('sha256').update(id).digest('hex');
const claim = (path: string, target: string, ageS = 0) => {
  symlinkSync(target, path);
  if (ageS) lutimesSync(path, Date.now() / 1000 - ageS, Date.now() / 1000 - ageS);
};

test('a stale claim (crash between claim and record) does not block the next publish, and start-up sweeps old strays', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-claim', { parameters: { passthrough: 'true' } });
  const index = join(f.l.directVolumes, '.passvol-index');
  const mine = join(index, 'disk.csi.passvol.io');
  mkdirSync(mine, { recursive: true });
  claim(join(mine, hash(v.volumeId)), targetFor(f, 'crashed-pod', 'x'));
  claim(join(mine, 'f'.repeat(64)), '/nowhere', 120);
  const target = targetFor(f, 'pod-ok', 'pv-claim');
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: v.volumeContext });
  await f.restart();
  assert.deepEqual(readdirSync(mine), [hash(v.volumeId)], 'the live claim stays, the old stray goes');
  await f.csi.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: target });
  assert.deepEqual(readdirSync(mine), []);
});

test('start-up leaves the other driver\'s claims and young claims alone; an old claim of this driver without its record goes', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const index = join(f.l.directVolumes, '.passvol-index');
  const theirs = join(index, 'nas.csi.passvol.io');
  const mine = join(index, 'disk.csi.passvol.io');
  mkdirSync(theirs, { recursive: true });
  mkdirSync(mine, { recursive: true });
  // The NAS plugin shares the record root: its claim, old and without a record, is for it to judge.
  claim(join(theirs, 'a'.repeat(64)), '/kubelet/pods/nas-pod/mount', 3600);
  // This driver's claims without a record: one in flight (its record comes next) ...
  claim(join(mine, 'b'.repeat(64)), '/kubelet/pods/publishing/mount');
  // ... and one whose record is long gone.
  claim(join(mine, 'c'.repeat(64)), '/kubelet/pods/gone/mount', 3600);
  await f.restart();
  assert.ok(present(join(theirs, 'a'.repeat(64))), 'the NAS driver\'s claim stays');
  assert.ok(present(join(mine, 'b'.repeat(64))), 'a young claim may be a publish in flight: it stays');
  assert.equal(present(join(mine, 'c'.repeat(64))), false, 'an old claim whose target holds no record goes');
  assert.match(f.driver.logs(), /"msg":"removed a stale one-target claim"/);
});
