// Facts about host processes read from the kernel: is a pid alive, and which processes name a folder in
// their arguments (how passvol finds the VMs, virtiofsd and NFS servers it started for a scratch or sandbox
// folder, without ever matching by program name alone).
import { readFileSync, readdirSync } from 'node:fs';

/** A process with this pid exists (EPERM means it does, owned by someone else) and has not ended as a zombie. */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie holds nothing any more; it lingers until its parent reaps it (containerd, a subreaper, reaps
  // a killed shim only when it gets to it).
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** Sends `signal` and waits up to `ms` for the process to be gone; true once it is. */
export async function signalAndWait(pid: number, signal: NodeJS.Signals, ms: number): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch {
    return !pidAlive(pid);
  }
  for (const deadline = Date.now() + ms; pidAlive(pid) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  return !pidAlive(pid);
}

/** Pids, other than this process, with an argument naming something inside `folder`. */
export function processesNaming(folder: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').some((a) => a.includes(`${folder}/`))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
