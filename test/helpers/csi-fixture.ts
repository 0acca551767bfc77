// One driver process and a client per test file, torn down (with every mount and loop device it made)
// when the file ends.
import { after } from 'node:test';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { csiClient, type CsiClient } from './csi-client.js';
import { layout, startDriverProcess, type DriverLayout, type DriverProcess } from './driver-process.js';
import { undoMountsAndLoops } from './host-cleanup.js';

export interface CsiFixture {
  l: DriverLayout;
  driver: DriverProcess;
  csi: CsiClient;
  restart(extra?: string[], signal?: NodeJS.Signals): Promise<void>;
}

export async function csiFixture(extra: string[] = [], kind = 'disk'): Promise<CsiFixture> {
  // Not scratchDir(): the mounts must be undone before anything under the root is removed.
  const root = mkdtempSync(join(tmpdir(), 'passvol-csi-'));
  const l = layout(root);
  const f: CsiFixture = {
    l,
    driver: await startDriverProcess(l, extra, kind),
    csi: csiClient(l.socket),
    async restart(more = extra, signal = 'SIGKILL') {
      f.csi.close();
      await f.driver.stop(signal);
      f.driver = await startDriverProcess(l, more, kind);
      f.csi = csiClient(l.socket);
    },
  };
  after(async () => {
    f.csi.close();
    await f.driver.stop();
    undoMountsAndLoops(root);
    rmSync(root, { recursive: true, force: true });
  });
  return f;
}

export const MiB = 2 ** 20;
export const mountCap = (mode = 'SINGLE_NODE_WRITER', fs_type = 'ext4', extra: object = {}) => ({ mount: { fs_type, ...extra }, access_mode: { mode } });
export const blockCap = (mode = 'SINGLE_NODE_WRITER') => ({ block: {}, access_mode: { mode } });

/** Create + ControllerPublish + NodeStage, as kubelet and the attacher do before NodePublish. */
export async function provisionAndStage(f: CsiFixture, name: string, opts: { parameters?: Record<string, string>; cap?: object; bytes?: number; contentSource?: object } = {}) {
  const cap = opts.cap ?? mountCap();
  const created = (await f.csi.controller.CreateVolume!({
    name,
    capacity_range: { required_bytes: opts.bytes ?? 32 * MiB },
    volume_capabilities: [cap],
    parameters: opts.parameters ?? {},
    ...(opts.contentSource ? { volume_content_source: opts.contentSource } : {}),
  })) as {
    volume: { volume_id: string; volume_context: Record<string, string> };
  };
  const volumeId = created.volume.volume_id;
  const pub = (await f.csi.controller.ControllerPublishVolume!({ volume_id: volumeId, node_id: 'node-1', volume_capability: cap })) as { publish_context: Record<string, string> };
  const staging = join(f.l.kubelet, 'plugins/kubernetes.io/csi/staging', name);
  await f.csi.node.NodeStageVolume!({ volume_id: volumeId, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: cap, volume_context: created.volume.volume_context });
  return { volumeId, cap, staging, publishContext: pub.publish_context, volumeContext: created.volume.volume_context, device: pub.publish_context.devicePath as string };
}

type Staged = Awaited<ReturnType<typeof provisionAndStage>>;

/** NodePublish of a staged volume for a pod, as kubelet calls it; returns the target path. */
export async function publishFor(f: CsiFixture, pod: string, name: string, v: Staged): Promise<string> {
  const target = targetFor(f, pod, name);
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: v.volumeContext });
  return target;
}

export function targetFor(f: CsiFixture, pod: string, name: string): string {
  return join(f.l.kubelet, 'pods', pod, 'volumes/kubernetes.io~csi', name, 'mount');
}
