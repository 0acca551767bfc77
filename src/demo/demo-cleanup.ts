// Ending what the demo started in its work folder: the processes it left (a VM, the NFS server), then its
// mounts and loop devices. A scratch folder the demo made goes whole; a --work-dir the user gave keeps its
// files, as after a finished run, and only processes the demo started are ended there.
import { readFileSync, readdirSync } from 'node:fs';
import { destroyScratch, undoMountsAndLoops } from '../common/scratch-cleanup.js';
import { processesNaming } from '../common/processes.js';

export interface DemoWorkDir {
  dir: string;
  /** The demo made it (a scratch folder): removed whole. Otherwise (--work-dir) its files stay. */
  madeByDemo: boolean;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Pids of the processes below `root` (its children, theirs, ...), read from /proc. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(Number(name));
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  for (let todo = [root]; todo.length > 0; ) {
    const next = children.get(todo.pop() as number) ?? [];
    out.push(...next);
    todo.push(...next);
  }
  return out;
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * SIGKILLs the processes this process started (directly or not) whose arguments name something in `dir`, and
 * waits (up to 5 s) until they are gone. Synchronous, so an interrupt handler can use it. Returns their pids.
 */
export function endDemoProcesses(dir: string): number[] {
  const ours = () => {
    const mine = new Set(descendantsOf(process.pid));
    return processesNaming(dir).filter((p) => mine.has(p));
  };
  const pids = ours();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // A killed child is a zombie until reaped; its command line reads empty, so it no longer names `dir`.
  for (let i = 0; i < 50 && ours().length > 0; i++) pause(100);
  return pids;
}

/** Ends what the demo left running in `w` and undoes its mounts and loop devices; a folder it made goes too. */
export function cleanUpWorkDir(w: DemoWorkDir): void {
  if (w.madeByDemo) {
    destroyScratch(w.dir);
    return;
  }
  endDemoProcesses(w.dir);
  undoMountsAndLoops(w.dir);
}

/**
 * On SIGINT or SIGTERM: clean up each work folder the demo registered, then exit 130. Registered before the
 * demo starts, for a scratch folder and a --work-dir alike.
 */
export function cleanUpDemoOnInterrupt(dirs: () => readonly DemoWorkDir[]): void {
  const handler = (signal: NodeJS.Signals) => {
    process.stderr.write(`\npassvol: ${signal}: cleaning up ${dirs().map((d) => d.dir).join(', ') || 'nothing'}\n`);
    for (const d of dirs()) {
      try {
        cleanUpWorkDir(d);
      } catch (e) {
        process.stderr.write(`passvol: cleaning up ${d.dir}: ${(e as Error).message}\n`);
      }
    }
    process.exit(130);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
