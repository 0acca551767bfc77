// The driver split as Kubernetes deploys it: a controller process and a node process sharing the disk
// pool, each serving only its services (the other answers UNIMPLEMENTED).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore } from '../../../src/directvolume/index.js';
import { GRPC, csiClient, failsWith } from '../../helpers/csi-client.js';
import { layout, startDriverProcess } from '../../helpers/driver-process.js';
import { needsRoot, undoMountsAndLoops } from '../../helpers/host-cleanup.js';
import { mountCap } from '../../helpers/csi-fixture.js';

test('controller and node in separate processes: the full flow, each refusing the other half', { skip: needsRoot }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'passvol-csi-split-'));
  const ctl = layout(join(root, 'ctl'));
  const nod = { ...layout(join(root, 'node')), pool: ctl.pool, kubelet: ctl.kubelet, directVolumes: ctl.directVolumes };
  const controller = await startDriverProcess(ctl, ['--mode', 'controller']);
  const node = await startDriverProcess(nod, ['--mode', 'node']);
  const c = csiClient(ctl.socket);
  const n = csiClient(nod.socket);
  after(async () => {
    c.close();
    n.close();
    await controller.stop();
    await node.stop();
    undoMountsAndLoops(root);
    rmSync(root, { recursive: true, force: true });
  });
  const cap = mountCap();
  const created = (await c.controller.CreateVolume!({ name: 'pv-split', capacity_range: { required_bytes: 32 * 2 ** 20 }, volume_capabilities: [cap], parameters: { passthrough: 'true' } })) as { volume: { volume_id: string; volume_context: Record<string, string> } };
  const id = created.volume.volume_id;
  const pub = (await c.controller.ControllerPublishVolume!({ volume_id: id, node_id: 'node-1', volume_capability: cap })) as { publish_context: Record<string, string> };
  const staging = join(ctl.kubelet, 'staging/pv-split');
  const target = join(ctl.kubelet, 'pods/p/volumes/pv-split/mount');
  await n.node.NodeStageVolume!({ volume_id: id, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: cap, volume_context: created.volume.volume_context });
  await n.node.NodePublishVolume!({ volume_id: id, publish_context: pub.publish_context, staging_target_path: staging, target_path: target, volume_capability: cap, volume_context: created.volume.volume_context });
  assert.equal((await new RecordStore(ctl.directVolumes).get(target)).mountInfo.device, pub.publish_context.devicePath);
  assert.doesNotMatch(readFileSync('/proc/self/mounts', 'utf8'), new RegExp(`^${pub.publish_context.devicePath} `, 'm'));

  assert.match(await failsWith(n.controller.CreateVolume!({ name: 'x', volume_capabilities: [cap] }), GRPC.UNIMPLEMENTED), /not implement.*CreateVolume/);
  assert.match(await failsWith(c.node.NodeGetInfo!({}), GRPC.UNIMPLEMENTED), /not implement.*NodeGetInfo/);
  const caps = (await c.identity.GetPluginCapabilities!({})) as { capabilities: { service?: { type: string } }[] };
  assert.ok(caps.capabilities.some((x) => x.service?.type === 'CONTROLLER_SERVICE'));
  const nodeCaps = (await n.identity.GetPluginCapabilities!({})) as { capabilities: { service?: { type: string } }[] };
  assert.ok(!nodeCaps.capabilities.some((x) => x.service?.type === 'CONTROLLER_SERVICE'));

  await n.node.NodeUnpublishVolume!({ volume_id: id, target_path: target });
  await n.node.NodeUnstageVolume!({ volume_id: id, staging_target_path: staging });
  await c.controller.ControllerUnpublishVolume!({ volume_id: id, node_id: 'node-1' });
  await c.controller.DeleteVolume!({ volume_id: id });
  assert.deepEqual(await new RecordStore(ctl.directVolumes).list(), []);
});
