// The controller calls csi-sanity touches only lightly, against the real driver: capabilities, capacity,
// ControllerGetVolume with the volume's condition, and ValidateVolumeCapabilities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { GRPC, failsWith } from '../../helpers/csi-client.js';
import { MiB, blockCap, csiFixture, mountCap } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

test('capabilities, capacity, volume condition and capability checks of the disk driver', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const caps = ((await f.csi.controller.ControllerGetCapabilities!({})) as { capabilities: { rpc: { type: string } }[] }).capabilities.map((c) => c.rpc.type);
  for (const c of ['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME', 'EXPAND_VOLUME', 'GET_CAPACITY', 'CREATE_DELETE_SNAPSHOT', 'CLONE_VOLUME', 'GET_VOLUME', 'VOLUME_CONDITION']) assert.ok(caps.includes(c), c);
  const nodeCaps = ((await f.csi.node.NodeGetCapabilities!({})) as { capabilities: { rpc: { type: string } }[] }).capabilities.map((c) => c.rpc.type);
  for (const c of ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'VOLUME_MOUNT_GROUP']) assert.ok(nodeCaps.includes(c), c);
  const info = (await f.csi.node.NodeGetInfo!({})) as { node_id: string; max_volumes_per_node: number; accessible_topology: { segments: Record<string, string> } };
  assert.equal(info.node_id, 'node-1');
  assert.ok(info.max_volumes_per_node > 0);
  assert.deepEqual(info.accessible_topology.segments, { 'topology.disk.csi.passvol.io/node': 'node-1' });

  const capacity = async () => Number(((await f.csi.controller.GetCapacity!({})) as { available_capacity: number }).available_capacity);
  const before = await capacity();
  assert.ok(before > 0);

  const created = (await f.csi.controller.CreateVolume!({ name: 'pv-ctl', capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [mountCap()] })) as { volume: { volume_id: string } };
  // The new disk is a sparse file that takes almost nothing yet, but its 32 MiB are promised.
  const after = await capacity();
  assert.ok(before - after >= 31 * MiB && before - after < 64 * MiB, `capacity went from ${before} to ${after}`);
  const id = created.volume.volume_id;
  const get = async () => (await f.csi.controller.ControllerGetVolume!({ volume_id: id })) as { volume: { volume_id: string; capacity_bytes: number }; status: { volume_condition: { abnormal: boolean; message: string } } };
  const healthy = await get();
  assert.equal(healthy.volume.capacity_bytes, 32 * MiB);
  assert.deepEqual(healthy.status.volume_condition, { abnormal: false, message: 'disk image present' });
  // The image vanishes from the pool (a disk lost by the storage): the condition says so.
  const image = join(f.l.pool, 'disks', `${id}.img`);
  renameSync(image, `${image}.away`);
  const lost = await get();
  assert.equal(lost.status.volume_condition.abnormal, true);
  assert.match(lost.status.volume_condition.message, /disk image .* is missing/);
  renameSync(`${image}.away`, image);

  const valid = (await f.csi.controller.ValidateVolumeCapabilities!({ volume_id: id, volume_capabilities: [mountCap(), blockCap()] })) as { confirmed?: { volume_capabilities: unknown[] } };
  assert.equal(valid.confirmed?.volume_capabilities.length, 2);
  const multi = (await f.csi.controller.ValidateVolumeCapabilities!({ volume_id: id, volume_capabilities: [mountCap('MULTI_NODE_MULTI_WRITER')] })) as { confirmed?: unknown; message: string };
  assert.equal(multi.confirmed, null, 'a disk on one node cannot be multi-node');
  assert.match(multi.message, /MULTI_NODE_MULTI_WRITER/);
  await failsWith(f.csi.controller.ValidateVolumeCapabilities!({ volume_id: 'pvd-000000000000000000000000', volume_capabilities: [mountCap()] }), GRPC.NOT_FOUND);
});
