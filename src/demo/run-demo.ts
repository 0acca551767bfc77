// `passvol demo`: the whole flow on the embedded defaults, each step explained in one line and checked.
import { claimScratch, reclaimAbandonedScratch, undoMountsAndLoops } from '../common/scratch-cleanup.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoReport } from './demo-report.js';
import { startDemoNode, type DemoNode } from './demo-environment.js';
import { provisionDemoVolumes, type DemoVolumes } from './csi-walkthrough.js';
import { directVolumeWalkthrough } from './direct-volume-walkthrough.js';
import { releaseVolume, type DemoVolume } from './demo-volumes.js';

const SCRATCH_PREFIX = 'passvol-demo-';

export interface DemoOptions {
  workDir?: string;
  /** Told the scratch folder as soon as it exists (to clean it up if the demo is interrupted). */
  onScratch?(dir: string): void;
  /** The sandbox part: runs a container using the three volumes (wired in when the runtime is present). */
  sandbox?: (volumes: DemoVolumes, node: DemoNode) => Promise<void>;
}

export async function runDemo(report: DemoReport, o: DemoOptions): Promise<void> {
  for (const d of reclaimAbandonedScratch(tmpdir(), SCRATCH_PREFIX)) report.info(`removed what an interrupted demo left in ${d}`);
  const work = o.workDir ?? (await mkdtemp(join(tmpdir(), SCRATCH_PREFIX)));
  if (!o.workDir) {
    claimScratch(work);
    o.onScratch?.(work);
  }
  await directVolumeWalkthrough(report, join(work, 'walkthrough'));
  report.step(`Set up the node in ${work}: the local disk pool, the embedded NFS server (nfs-ganesha), and both CSI drivers`);
  const node = await startDemoNode(work);
  report.info(`NFS server ${node.nfs.server}:${node.nfs.share} up in ${node.nfs.startMs} ms; CSI drivers on ${work}/{disk,nas}.sock`);
  let volumes: DemoVolume[] = [];
  try {
    const provisioned = await provisionDemoVolumes(node, report).catch((e: { provisioned?: DemoVolume[] }) => {
      volumes = e.provisioned ?? [];
      throw e;
    });
    volumes = provisioned.all;
    if (o.sandbox) await o.sandbox(provisioned, node);
  } finally {
    report.step('Clean up: NodeUnpublish, NodeUnstage, ControllerUnpublish (detach), DeleteVolume, stop the drivers and the NFS server');
    for (const v of volumes.reverse()) await releaseVolume(v).catch((e: Error) => report.info(`cleanup of ${v.label}: ${e.message}`));
    await node.stop();
    undoMountsAndLoops(work);
    if (!o.workDir) await rm(work, { recursive: true, force: true });
  }
}

