// The one-target claim survives what a crash leaves: a claim without its record is taken over, and a
// claim whose record is gone is swept at start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { csiFixture, provisionAndStage, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

test('a stale claim (crash between claim and record) does not block the next publish, and start-up sweeps strays', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-claim', { parameters: { passthrough: 'true' } });
  const index = join(f.l.directVolumes, '.passvol-index');
  mkdirSync(index, { recursive: true });
  symlinkSync(targetFor(f, 'crashed-pod', 'x'), join(index, createHash('sha256').update(v.volumeId).digest('hex')));
  symlinkSync('/nowhere', join(index, 'f'.repeat(64)));
  const target = targetFor(f, 'pod-ok', 'pv-claim');
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: v.volumeContext });
  await f.restart();
  assert.deepEqual(readdirSync(index), [createHash('sha256').update(v.volumeId).digest('hex')], 'the live claim stays, the stray goes');
  await f.csi.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: target });
  assert.deepEqual(readdirSync(index), []);
});
