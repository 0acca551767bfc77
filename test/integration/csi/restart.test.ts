// The driver holds no state that is not on disk: after kill -9 and a restart every call converges, and
// records whose publish is gone are removed at start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordStore, encodeVolumeDirName } from '../../../src/directvolume/index.js';
import { csiFixture, MiB, mountCap, provisionAndStage, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

test('kill -9 then restart: repeating every call converges on the same volume and record', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-restart', { parameters: { passthrough: 'true' } });
  const target = targetFor(f, 'pod-r', 'pv-restart');
  const publish = { volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: v.volumeContext };
  await f.csi.node.NodePublishVolume!(publish);
  const recordFile = join(f.l.directVolumes, encodeVolumeDirName(target), 'mountInfo.json');
  const record = readFileSync(recordFile, 'utf8');

  await f.restart();
  const again = await provisionAndStage(f, 'pv-restart', { parameters: { passthrough: 'true' } });
  assert.equal(again.volumeId, v.volumeId);
  assert.equal(again.device, v.device);
  await f.csi.node.NodePublishVolume!(publish);
  assert.equal(readFileSync(recordFile, 'utf8'), record, 'record unchanged');
  const listed = (await f.csi.controller.ListVolumes!({})) as { entries: { volume: { volume_id: string }; status: { published_node_ids: string[] } }[] };
  assert.deepEqual(listed.entries.map((e) => [e.volume.volume_id, e.status.published_node_ids]), [[v.volumeId, ['node-1']]]);
});

test('a record whose target vanished while the driver was down is removed at start-up; others stay', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const a = await provisionAndStage(f, 'pv-stale-1', { parameters: { passthrough: 'true' } });
  const b = await provisionAndStage(f, 'pv-stale-2', { parameters: { passthrough: 'true' } });
  const ta = targetFor(f, 'pod-1', 'a');
  const tb = targetFor(f, 'pod-2', 'b');
  for (const [v, t] of [[a, ta], [b, tb]] as const) {
    await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: t, volume_capability: v.cap, volume_context: v.volumeContext });
  }
  // A record some other tool wrote is never touched.
  const store = new RecordStore(f.l.directVolumes);
  await store.add('/foreign/volume', '{"volume-type":"directvol","device":"/dev/none","fstype":"ext4"}');
  await f.driver.stop('SIGKILL');
  rmSync(ta, { recursive: true });
  await f.restart();
  assert.equal(await store.find(ta), undefined);
  assert.ok(await store.find(tb));
  assert.ok(await store.find('/foreign/volume'));
  assert.match(f.driver.logs(), /"why":"target path is gone","msg":"removed stale direct-volume record"/);
});

test('kill -9 in the middle of formatting: the retried stage converges', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const cap = mountCap('SINGLE_NODE_WRITER', 'xfs');
  const created = (await f.csi.controller.CreateVolume!({ name: 'pv-midformat', capacity_range: { required_bytes: 1024 * MiB }, volume_capabilities: [cap] })) as { volume: { volume_id: string } };
  const id = created.volume.volume_id;
  const pub = (await f.csi.controller.ControllerPublishVolume!({ volume_id: id, node_id: 'node-1', volume_capability: cap })) as { publish_context: object };
  const staging = join(f.l.kubelet, 'staging/midformat');
  const stage = () => f.csi.node.NodeStageVolume!({ volume_id: id, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: cap });
  const first = stage().catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, 40));
  await f.restart();
  await first;
  for (let i = 0; i < 20; i++) {
    try {
      await stage();
      break;
    } catch (e) {
      if ((e as { code: number }).code !== 10 || i === 19) throw e; // the killed call's mkfs may still be running
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  assert.ok(existsSync(staging));
  assert.match(readFileSync('/proc/self/mounts', 'utf8'), new RegExp(`${staging} xfs`));
});

test('a disk detached and attached again under another device: publish rewrites its record, start-up drops one left naming the old device', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-moved', { parameters: { passthrough: 'true' } });
  const t = targetFor(f, 'pod-m', 'pv-moved');
  const publish = (ctx: Record<string, string>) => f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: ctx, staging_target_path: v.staging, target_path: t, volume_capability: v.cap, volume_context: v.volumeContext });
  await publish(v.publishContext);
  const store = new RecordStore(f.l.directVolumes);
  assert.equal((await store.find(t))?.mountInfo.device, v.device);
  // Detach, let another image take the loop device, attach again: the disk is now another device.
  await f.csi.controller.ControllerUnpublishVolume!({ volume_id: v.volumeId, node_id: 'node-1' });
  const squatter = join(f.l.kubelet, '..', 'squatter.img');
  writeFileSync(squatter, '');
  truncateSync(squatter, 16 * 2 ** 20);
  const taken = execFileSync('losetup', ['--find', '--show', squatter], { encoding: 'utf8' }).trim();
  try {
    assert.equal(taken, v.device, 'the freed loop device went to the other image');
    const again = (await f.csi.controller.ControllerPublishVolume!({ volume_id: v.volumeId, node_id: 'node-1', volume_capability: v.cap })) as { publish_context: Record<string, string> };
    assert.notEqual(again.publish_context.devicePath, v.device);
    await publish(again.publish_context);
    assert.equal((await store.find(t))?.mountInfo.device, again.publish_context.devicePath, 'the record names the device the disk is now');
    // A record left naming the old device (written while the driver was down) is dropped at start-up.
    await f.driver.stop('SIGKILL');
    await store.add(t, { ...(await store.find(t))!.mountInfo, device: v.device });
    await f.restart();
    assert.equal(await store.find(t), undefined);
    assert.match(f.driver.logs(), /is no longer volume/);
  } finally {
    execFileSync('losetup', ['-d', taken]);
  }
});
