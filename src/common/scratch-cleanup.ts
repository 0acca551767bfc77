// Whatever a demo, benchmark or test left mounted or attached under its scratch folder is undone, deepest
// mount first, so a failure never leaks into the next run.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassvolError } from './errors.js';
import { parseMountInfo } from './mount-table.js';
import { pidAlive, processesNaming } from './processes.js';

export function undoMountsAndLoops(root: string): void {
  undoMountsUnder(root);
  detachLoopsUnder(root);
}

/** What is mounted below `root` (not `root` itself), deepest first. */
export function mountsUnder(root: string): string[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint)
    .filter((m) => m.startsWith(`${root}/`))
    .sort()
    .reverse();
}

/**
 * Removes a folder that binds were made in, once nothing is mounted in it any more. A mount left (an
 * unmount that failed) stops it: removing the tree would delete what the mount shows (a container's rootfs,
 * a volume), not the folder's own files.
 */
export async function removeUnmounted(root: string): Promise<void> {
  undoMountsUnder(root);
  const left = mountsUnder(root);
  if (left.length > 0) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `${root} is not removed: ${left.join(', ')} ${left.length === 1 ? 'is' : 'are'} still mounted there`);
  await rm(root, { recursive: true, force: true });
}

/** Lazily unmounts everything mounted below `root`, deepest first. */
export function undoMountsUnder(root: string): void {
  const mounts = mountsUnder(root);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      /* already gone */
    }
  }
}

/** Detaches the loop devices whose backing file lies below `root`. */
function detachLoopsUnder(root: string): void {
  const loops = execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' });
  for (const line of loops.split('\n')) {
    const [dev, file] = line.trim().split(/\s+/);
    if (dev && file?.startsWith(`${root}/`)) {
      try {
        execFileSync('losetup', ['-d', dev]);
      } catch {
        /* already gone */
      }
    }
  }
}

const OWNER_FILE = 'owner.pid';

/** Marks a scratch folder as owned by this process, so a later run can tell when it was abandoned. */
export function claimScratch(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`);
}

/**
 * Scratch folders `<parent>/<prefix>*` whose owner process is gone (a run killed before its own cleanup):
 * their processes are killed, their mounts and loop devices undone, the folders removed. Folders of live
 * runs, and folders without an owner file, are left alone. Returns the folders reclaimed.
 */
export function reclaimAbandonedScratch(parent: string, prefix: string): string[] {
  const reclaimed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(prefix));
  } catch {
    return reclaimed;
  }
  for (const name of names) {
    const dir = join(parent, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
    } catch {
      continue;
    }
    if (!owner || pidAlive(owner)) continue;
    destroyScratch(dir);
    reclaimed.push(dir);
  }
  return reclaimed;
}

/** Ends everything a run started under `dir` (by SIGKILL: the run is being abandoned) and removes it. */
export function destroyScratch(dir: string): void {
  for (const pid of processesNaming(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 50 && processesNaming(dir).length > 0; i++) execFileSync('sleep', ['0.1']);
  undoMountsAndLoops(dir);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * On SIGINT or SIGTERM, destroy the scratch folders a run registered, then exit 130: an interrupted demo or
 * benchmark leaves no VM, server, mount or loop device behind.
 */
export function cleanUpOnInterrupt(dirs: () => readonly string[]): void {
  const handler = (signal: NodeJS.Signals) => {
    process.stderr.write(`\npassvol: ${signal}: cleaning up ${dirs().join(', ') || 'nothing'}\n`);
    for (const d of dirs()) destroyScratch(d);
    process.exit(130);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
