// `passvol demo`: the whole flow on the embedded defaults, each step explained in one line and checked.
import { undoMountsAndLoops } from '../common/scratch-cleanup.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoReport } from './demo-report.js';
import { startDemoNode, type DemoNode } from './demo-environment.js';
import { provisionDemoVolumes, type DemoVolumes } from './csi-walkthrough.js';
import { directVolumeWalkthrough } from './direct-volume-walkthrough.js';
import { releaseVolume, type DemoVolume } from './demo-volumes.js';

export interface DemoOptions {
  workDir?: string;
  /** The sandbox part: runs a container using the three volumes (wired in when the runtime is present). */
  sandbox?: (volumes: DemoVolumes, node: DemoNode) => Promise<void>;
}

export async function runDemo(report: DemoReport, o: DemoOptions): Promise<void> {
  const work = o.workDir ?? (await mkdtemp(join(tmpdir(), 'passvol-demo-')));
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

