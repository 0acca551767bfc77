// NodePublish/NodeUnpublish latency of passed-through volumes against host-mounted ones, with many callers
// on different volumes at once (kubelet starting a node full of pods), and the driver's memory.
import { undoMountsAndLoops } from '../common/scratch-cleanup.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csiClient, type CsiClient } from '../csi/csi-client.js';
import { DRIVER_NODE_OPTIONS } from '../csi/driver-node-options.js';
import { startBenchDriver } from './driver-under-test.js';
import { summarize, type Summary } from './stats.js';

export interface CsiBenchOptions {
  callers: number;
  rounds: number;
  onProgress: (line: string) => void;
}

export interface CsiBenchResult {
  callers: number;
  rounds: number;
  paths: Record<'passthrough' | 'host', { publishMs: Summary; unpublishMs: Summary; opsPerSecond: number; soloPublishMs: Summary }>;
  driverRssMiB: { idle: number; peak: number };
  /** The Node flags the driver ran with (deploy/'s NODE_OPTIONS). */
  driverNodeOptions: string;
  /** When the run started (ISO 8601). */
  measuredAt: string;
}

interface Staged {
  volumeId: string;
  request: Record<string, unknown>;
}

const cap = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

async function stageVolumes(csi: CsiClient, kubelet: string, kind: 'passthrough' | 'host', count: number): Promise<Staged[]> {
  const out: Staged[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench-${kind}-${i}`;
    const created = (await csi.controller.CreateVolume!({ name, capacity_range: { required_bytes: 16 * 2 ** 20 }, volume_capabilities: [cap], parameters: kind === 'passthrough' ? { passthrough: 'true' } : {} })) as {
      volume: { volume_id: string; volume_context: Record<string, string> };
    };
    const id = created.volume.volume_id;
    const pub = (await csi.controller.ControllerPublishVolume!({ volume_id: id, node_id: 'bench-node', volume_capability: cap })) as { publish_context: Record<string, string> };
    const staging = join(kubelet, 'staging', name);
    await csi.node.NodeStageVolume!({ volume_id: id, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: cap, volume_context: created.volume.volume_context });
    out.push({
      volumeId: id,
      request: { volume_id: id, publish_context: pub.publish_context, staging_target_path: staging, target_path: join(kubelet, 'pods', name, 'mount'), volume_capability: cap, volume_context: created.volume.volume_context },
    });
  }
  return out;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

interface RoundSamples {
  publish: number[];
  unpublish: number[];
  seconds: number;
}

/** One caller alone, volume after volume: what a publish costs on a quiet node. */
async function solo(csi: CsiClient, volumes: Staged[]): Promise<number[]> {
  const publish: number[] = [];
  for (const v of volumes) {
    publish.push(await timed(() => csi.node.NodePublishVolume!(v.request)));
    await csi.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: v.request.target_path });
  }
  return publish;
}

/** One round: every caller publishes its own volume at the same moment, then all unpublish together. */
async function round(csi: CsiClient, volumes: Staged[], sampleRss: () => Promise<void>): Promise<RoundSamples> {
  const started = process.hrtime.bigint();
  const publish = await Promise.all(volumes.map((v) => timed(() => csi.node.NodePublishVolume!(v.request))));
  await sampleRss();
  const unpublish = await Promise.all(volumes.map((v) => timed(() => csi.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: v.request.target_path }))));
  return { publish, unpublish, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

export async function runCsiPublishBench(o: CsiBenchOptions): Promise<CsiBenchResult> {
  const measuredAt = new Date().toISOString();
  const root = await mkdtemp(join(tmpdir(), 'passvol-bench-csi-'));
  let driver;
  try {
    driver = await startBenchDriver(root);
  } catch (e) {
    // It mounted the records tmpfs before the driver failed to come up.
    undoMountsAndLoops(root);
    await rm(root, { recursive: true, force: true });
    throw e;
  }
  const csi = csiClient(driver.socket);
  let peak = 0;
  const sampleRss = async () => {
    peak = Math.max(peak, await driver.rssKiB());
  };
  try {
    o.onProgress(`staging ${o.callers} passthrough and ${o.callers} host volumes (create, attach, format)`);
    const pass = await stageVolumes(csi, driver.kubelet, 'passthrough', o.callers);
    const host = await stageVolumes(csi, driver.kubelet, 'host', o.callers);
    const idle = await driver.rssKiB();
    // Warm-up round, not counted: the first calls pay for code loading and JIT.
    await round(csi, pass.slice(0, 4), sampleRss);
    await round(csi, host.slice(0, 4), sampleRss);
    // Interleave the two paths round by round so machine noise hits both alike.
    const acc: Record<'passthrough' | 'host', RoundSamples[]> = { passthrough: [], host: [] };
    const alone: Record<'passthrough' | 'host', number[]> = { passthrough: [], host: [] };
    for (let r = 0; r < o.rounds; r++) {
      o.onProgress(`round ${r + 1}/${o.rounds}: ${o.callers} concurrent publish+unpublish, then one caller alone; passthrough then host`);
      acc.passthrough.push(await round(csi, pass, sampleRss));
      alone.passthrough.push(...(await solo(csi, pass)));
      acc.host.push(await round(csi, host, sampleRss));
      alone.host.push(...(await solo(csi, host)));
    }
    const paths = {} as CsiBenchResult['paths'];
    for (const k of ['passthrough', 'host'] as const) {
      const rs = acc[k];
      paths[k] = {
        publishMs: summarize(rs.flatMap((x) => x.publish)),
        unpublishMs: summarize(rs.flatMap((x) => x.unpublish)),
        opsPerSecond: summarize(rs.map((x) => (x.publish.length + x.unpublish.length) / x.seconds)).median,
        soloPublishMs: summarize(alone[k]),
      };
    }
    return { measuredAt, callers: o.callers, rounds: o.rounds, paths, driverRssMiB: { idle: idle / 1024, peak: peak / 1024 }, driverNodeOptions: DRIVER_NODE_OPTIONS };
  } finally {
    csi.close();
    await driver.stop();
    undoMountsAndLoops(root);
    await rm(root, { recursive: true, force: true });
  }
}

