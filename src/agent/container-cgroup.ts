// A container's cgroup in the guest (cgroup v2, which init mounts at /sys/fs/cgroup): the limits of its
// bundle's linux.resources, as runc would set them on a node, so that a container that outgrows its memory
// limit is the one the kernel kills, not another container or the agent. Every container gets one, limits or
// not, under containers/ (which holds no process itself, as cgroup v2 asks of a folder with controllers on).
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerResources, ContainerStatsResult } from '../protocol/index.js';

const CONTROLLERS = ['cpu', 'memory', 'pids'];
const DEFAULT_CPU_PERIOD = 100_000;
const REMOVE_WAIT_MS = 2000;
const FREEZE_WAIT_MS = 5000;

/** cgroup v1 shares (2..262144) as a v2 weight (1..10000), by the formula runc uses (integer division). */
export function cpuWeightOf(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262_142);
}

/** The files and values a container's limits become. */
export function cgroupSettings(r: ContainerResources): [file: string, value: string][] {
  const out: [string, string][] = [];
  if (r.memoryLimitBytes !== undefined) out.push(['memory.max', String(r.memoryLimitBytes)], ['memory.swap.max', '0']);
  if (r.cpuQuotaMicros !== undefined) out.push(['cpu.max', `${r.cpuQuotaMicros} ${r.cpuPeriodMicros ?? DEFAULT_CPU_PERIOD}`]);
  if (r.cpuShares !== undefined) out.push(['cpu.weight', String(cpuWeightOf(r.cpuShares))]);
  if (r.pidsLimit !== undefined) out.push(['pids.max', String(r.pidsLimit)]);
  if (r.oomGroup !== undefined) out.push(['memory.oom.group', r.oomGroup ? '1' : '0']);
  return out;
}

/** Turns the controllers on for a folder's children, those the kernel offers. */
async function enableControllers(dir: string): Promise<void> {
  const offered = (await readFile(join(dir, 'cgroup.controllers'), 'utf8')).split(/\s+/);
  const wanted = CONTROLLERS.filter((c) => offered.includes(c));
  if (wanted.length > 0) await writeFile(join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
}

/** Makes the container's cgroup with its limits; returns its cgroup.procs, which the launcher joins. */
export async function createContainerCgroup(root: string, containerId: string, r: ContainerResources): Promise<string> {
  const parent = join(root, 'containers');
  await mkdir(parent, { recursive: true });
  await enableControllers(root);
  await enableControllers(parent);
  const dir = join(parent, containerId);
  // A folder left by an agent that restarted holds nothing now (its processes went with it).
  await rmdir(dir).catch(() => undefined);
  await mkdir(dir);
  const procs = join(dir, 'cgroup.procs');
  try {
    await setContainerLimits(procs, r);
  } catch (e) {
    await rmdir(dir).catch(() => undefined);
    throw e;
  }
  return procs;
}

/** Writes limits to a container's cgroup (at creation, and when they change): those given, in order. */
export async function setContainerLimits(procsFile: string, r: ContainerResources): Promise<void> {
  const dir = dirname(procsFile);
  for (const [file, value] of cgroupSettings(r)) {
    // No swap in the guest: memory.swap.max is absent without CONFIG_SWAP and then not needed.
    if (file === 'memory.swap.max' && !(await readFile(join(dir, file)).then(() => true, () => false))) continue;
    await writeFile(join(dir, file), value).catch((e: NodeJS.ErrnoException) => {
      e.message = `${file} = ${value}: ${e.message}`;
      throw e;
    });
  }
}

/** Removes it once its processes are gone (a process just killed leaves it a moment later). */
export async function removeContainerCgroup(procsFile: string): Promise<void> {
  const dir = dirname(procsFile);
  const deadline = Date.now() + REMOVE_WAIT_MS;
  for (;;) {
    const err = await rmdir(dir).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    if (!err || err.code === 'ENOENT') return;
    if (err.code !== 'EBUSY' || Date.now() > deadline) throw err;
    await sleep(20);
  }
}

/** Whether `root` is a cgroup v2 filesystem this agent can make cgroups in (the guest's; not a test host's). */
export async function hasCgroup2(root: string): Promise<boolean> {
  return readFile(join(root, 'cgroup.subtree_control'), 'utf8').then(() => true, () => false);
}

/** "key value" lines (cpu.stat, memory.stat, memory.events) as numbers. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** A single-value file: a number, or "max" (no limit: 0, as containerd's metrics say it). */
const single = (text: string): number => (text.trim() === 'max' ? 0 : Number(text.trim()) || 0);

/** The figures of a container's cgroup, read from its files. */
export async function readContainerStats(procsFile: string): Promise<ContainerStatsResult> {
  const dir = dirname(procsFile);
  const read = (file: string) => readFile(join(dir, file), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e)));
  const [cpuText, memText, eventsText, current, max, pidsCurrent, pidsMax] = await Promise.all(['cpu.stat', 'memory.stat', 'memory.events', 'memory.current', 'memory.max', 'pids.current', 'pids.max'].map(read));
  const cpu = parseFlatKeyed(cpuText ?? '');
  const mem = parseFlatKeyed(memText ?? '');
  const events = parseFlatKeyed(eventsText ?? '');
  const c = (key: string) => cpu.get(key) ?? 0;
  const m = (key: string) => mem.get(key) ?? 0;
  const e = (key: string) => events.get(key) ?? 0;
  return {
    cpu: { usageUsec: c('usage_usec'), userUsec: c('user_usec'), systemUsec: c('system_usec'), nrPeriods: c('nr_periods'), nrThrottled: c('nr_throttled'), throttledUsec: c('throttled_usec') },
    memory: {
      usage: single(current ?? ''),
      limit: single(max ?? ''),
      anon: m('anon'),
      file: m('file'),
      kernelStack: m('kernel_stack'),
      slab: m('slab'),
      sock: m('sock'),
      shmem: m('shmem'),
      fileMapped: m('file_mapped'),
      fileDirty: m('file_dirty'),
      inactiveAnon: m('inactive_anon'),
      activeAnon: m('active_anon'),
      inactiveFile: m('inactive_file'),
      activeFile: m('active_file'),
      unevictable: m('unevictable'),
      pgfault: m('pgfault'),
      pgmajfault: m('pgmajfault'),
    },
    memoryEvents: { low: e('low'), high: e('high'), max: e('max'), oom: e('oom'), oomKill: e('oom_kill') },
    pids: { current: single(pidsCurrent ?? ''), limit: single(pidsMax ?? '') },
  };
}

/**
 * Freezes (or thaws) a container's cgroup and waits until the kernel says it is so (cgroup.events'
 * "frozen"): every process stopped where it was, as runc's pause does. A frozen cgroup is thawed before
 * removal by the kernel itself; SIGKILL still reaches frozen processes.
 */
export async function freezeContainerCgroup(procsFile: string, frozen: boolean, waitMs = FREEZE_WAIT_MS): Promise<void> {
  const dir = dirname(procsFile);
  await writeFile(join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
  const deadline = Date.now() + waitMs;
  for (;;) {
    const events = parseFlatKeyed(await readFile(join(dir, 'cgroup.events'), 'utf8'));
    if ((events.get('frozen') === 1) === frozen) return;
    if (Date.now() > deadline) throw new Error(`the cgroup did not ${frozen ? 'freeze' : 'thaw'} within ${waitMs} ms`);
    await sleep(10);
  }
}
