// `passvol demo`: the whole flow on the embedded defaults, each step explained in one line and checked. A step
// that fails is a failing check; whatever happens, everything set up so far is cleaned up, step by step.
import { claimScratch, reclaimAbandonedScratch, undoMountsAndLoops } from '../common/scratch-cleanup.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runSteps, type DemoReport } from './demo-report.js';
import { CleanupStack } from './cleanup-stack.js';
import { endDemoProcesses } from './demo-cleanup.js';
import { startDemoNode, type DemoNode } from './demo-environment.js';
import { provisionDemoVolumes, type DemoVolumes } from './csi-walkthrough.js';
import { directVolumeWalkthrough } from './direct-volume-walkthrough.js';
import { releaseVolume, type DemoVolume } from './demo-volumes.js';

const SCRATCH_PREFIX = 'passvol-demo-';
const CLEANUP_STEP = 'Clean up: NodeUnpublish, NodeUnstage, ControllerUnpublish (detach), DeleteVolume, stop the drivers and the NFS server';

export interface DemoOptions {
  workDir?: string;
  /**
   * Told the work folder as soon as it exists, and whether the demo made it (to clean up if the demo is
   * interrupted: a folder the demo made is removed, a --work-dir keeps its files).
   */
  onWorkDir?(dir: string, madeByDemo: boolean): void;
  /** The sandbox part: runs a container using the three volumes (wired in when the runtime is present). */
  sandbox?: (volumes: DemoVolumes, node: DemoNode) => Promise<void>;
  /** How to run the passvol CLI (default: this program, as it was started). */
  cli?: readonly string[];
  /** Starts the node (replaced in tests). */
  startNode?: (work: string) => Promise<DemoNode>;
}

/** Never throws: a step that fails, and a cleanup step that fails, are failing checks in `report`. */
export async function runDemo(report: DemoReport, o: DemoOptions): Promise<void> {
  const cleanup = new CleanupStack();
  await runSteps(report, cleanup, CLEANUP_STEP, async () => {
    for (const d of reclaimAbandonedScratch(tmpdir(), SCRATCH_PREFIX)) report.info(`removed what an interrupted demo left in ${d}`);
    // Absolute: mounts, loop devices and processes are found by the folder's path.
    const work = o.workDir ? resolve(o.workDir) : await mkdtemp(join(tmpdir(), SCRATCH_PREFIX));
    if (!o.workDir) {
      cleanup.push('remove the scratch folder', () => rm(work, { recursive: true, force: true }));
      claimScratch(work);
    }
    o.onWorkDir?.(work, !o.workDir);
    // Last resorts, run after the orderly steps below: whatever is still mounted, attached or running in there.
    cleanup.push('unmount and detach loop devices', () => undoMountsAndLoops(work));
    cleanup.push('end processes left running', () => endDemoProcesses(work));

    await directVolumeWalkthrough(report, join(work, 'walkthrough'), o.cli);
    report.step(`Set up the node in ${work}: the local disk pool, the embedded NFS server (nfs-ganesha), and both CSI drivers`);
    const node = await (o.startNode ?? startDemoNode)(work);
    cleanup.push('stop the CSI drivers and the NFS server', () => node.stop());
    report.info(`NFS server ${node.nfs.server}:${node.nfs.share} up in ${node.nfs.startMs} ms; CSI drivers on ${work}/{disk,nas}.sock`);
    const volumes: DemoVolume[] = [];
    cleanup.push('release the volumes', () => releaseAll(volumes));
    const provisioned = await provisionDemoVolumes(node, report, volumes);
    if (o.sandbox) await o.sandbox(provisioned, node);
  });
}

/** Releases every volume, the last provisioned first, even when releasing another fails. */
async function releaseAll(volumes: readonly DemoVolume[]): Promise<void> {
  const failed: string[] = [];
  for (const v of [...volumes].reverse()) await releaseVolume(v).catch((e: Error) => failed.push(`${v.label}: ${e.message}`));
  if (failed.length > 0) throw new Error(failed.join('; '));
}
