// Provisioning the demo's three volumes exactly as Kubernetes would, through real CSI calls: the external
// provisioner's CreateVolume, the attacher's ControllerPublishVolume, kubelet's NodeStage and NodePublish.
import { join } from 'node:path';
import type { CsiClient } from '../csi/csi-client.js';
import type { DemoNode } from './demo-environment.js';

export interface DemoVolume {
  label: string;
  client: CsiClient;
  volumeId: string;
  /** The CSI target path: the OCI mount source the runtime will see. */
  target: string;
  staging?: string;
  capability: object;
  publishContext: Record<string, string>;
  device?: string;
}

const POD_UID = '5f0c0e52-demo-4d4b-9c1b-passvol00001';

export function targetPath(node: DemoNode, pvName: string): string {
  return join(node.kubelet, 'pods', POD_UID, 'volumes/kubernetes.io~csi', pvName, 'mount');
}

export async function provisionDisk(node: DemoNode, pvName: string, passthrough: boolean, fromSnapshot?: string): Promise<DemoVolume> {
  const capability = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
  const created = (await node.disk.controller.CreateVolume!({
    name: pvName,
    capacity_range: { required_bytes: 256 * 2 ** 20 },
    volume_capabilities: [capability],
    parameters: passthrough ? { passthrough: 'true' } : {},
    ...(fromSnapshot ? { volume_content_source: { snapshot: { snapshot_id: fromSnapshot } } } : {}),
  })) as { volume: { volume_id: string; volume_context: Record<string, string> } };
  const volumeId = created.volume.volume_id;
  const pub = (await node.disk.controller.ControllerPublishVolume!({ volume_id: volumeId, node_id: 'demo-node', volume_capability: capability })) as { publish_context: Record<string, string> };
  const staging = join(node.kubelet, 'plugins/kubernetes.io/csi/disk.csi.passvol.io', pvName, 'globalmount');
  const target = targetPath(node, pvName);
  await node.disk.node.NodeStageVolume!({ volume_id: volumeId, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: capability, volume_context: created.volume.volume_context });
  await node.disk.node.NodePublishVolume!({
    volume_id: volumeId, publish_context: pub.publish_context, staging_target_path: staging, target_path: target, volume_capability: capability, volume_context: created.volume.volume_context,
  });
  return { label: pvName, client: node.disk, volumeId, target, staging, capability, publishContext: pub.publish_context, device: pub.publish_context.devicePath as string };
}

export async function provisionNas(node: DemoNode, pvName: string): Promise<DemoVolume> {
  const capability = { mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
  const created = (await node.nas.controller.CreateVolume!({
    name: pvName,
    capacity_range: { required_bytes: 2 ** 30 },
    volume_capabilities: [capability],
    parameters: { server: node.nfs.server, share: node.nfs.share, nfsVersion: '4.1', passthrough: 'true', onDelete: 'delete' },
  })) as { volume: { volume_id: string; volume_context: Record<string, string> } };
  const target = targetPath(node, pvName);
  await node.nas.node.NodePublishVolume!({ volume_id: created.volume.volume_id, target_path: target, volume_capability: capability, volume_context: created.volume.volume_context });
  return { label: pvName, client: node.nas, volumeId: created.volume.volume_id, target, capability, publishContext: {} };
}

export async function releaseVolume(v: DemoVolume): Promise<void> {
  await v.client.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: v.target });
  if (v.staging) {
    await v.client.node.NodeUnstageVolume!({ volume_id: v.volumeId, staging_target_path: v.staging });
    await v.client.controller.ControllerUnpublishVolume!({ volume_id: v.volumeId, node_id: 'demo-node' });
  }
  await v.client.controller.DeleteVolume!({ volume_id: v.volumeId });
}
