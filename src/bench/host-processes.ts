// CPU time and memory of host processes, read from /proc: what QEMU, virtiofsd and the NFS server spend
// on a workload is the difference of two samples. The processes are found by the folder their arguments
// name (common/processes.ts), never by name alone.
import { readFileSync } from 'node:fs';
import { processesNaming } from '../common/processes.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU milliseconds of a process (all its threads, live and ended); 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Processes whose arguments name something in `folder` and whose command name matches `name`. */
export function processesIn(folder: string, name: RegExp): number[] {
  return processesNaming(folder).filter((p) => name.test(comm(p)));
}

export function rssKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** A set of processes watched under one name (e.g. "qemu"), sampled before and after a workload. */
export class CpuMeter {
  private readonly base = new Map<number, number>();

  constructor(private readonly pids: () => number[]) {}

  start(): void {
    this.base.clear();
    for (const pid of this.pids()) this.base.set(pid, cpuMs(pid));
  }

  /** CPU milliseconds spent since start() by the processes seen then. */
  elapsedMs(): number {
    let total = 0;
    for (const [pid, before] of this.base) total += Math.max(0, cpuMs(pid) - before);
    return total;
  }
}
