// `passvol bench io`: every path side by side in one run, on twin disks and in the same VM configuration.
// Each round boots fresh sandboxes (boot and attach latency are samples too), then runs every workload on
// every path, rotating the order of the paths from round to round so no path always goes first.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { accessSync } from 'node:fs';
import { failedPrecondition } from '../common/errors.js';
import { claimScratch, reclaimAbandonedScratch } from '../common/scratch-cleanup.js';
import type { Exec } from '../common/exec.js';
import type { Logger } from '../common/logger.js';
import type { SandboxDeps } from '../runtime/sandbox/sandbox.js';
import { buildBenchTools, QUICK_TARBALL_PACKAGES, TARBALL_PACKAGES } from './bench-rootfs.js';
import { PATH_IDS, removeWork, startIoEnvironment, type PathId, type RoundInfo } from './io-environment.js';
import { WORKLOADS, type WorkloadParams } from './io-workloads.js';
import { summarize, type Summary } from './stats.js';

export interface IoBenchOptions {
  rounds: number;
  quick: boolean;
  paths: readonly PathId[];
  workloads: readonly string[];
  /** Where scratch disks go (the backing storage of every path). */
  scratchParent: string;
  diskMiB: number;
  /** Extra mkfs.ext4 arguments for both twin disks (a StorageClass's mkfsOptions). */
  mkfsArgs?: readonly string[];
  nodeModules: string;
  exec: Exec;
  log: Logger;
  /** Sandbox dependencies for a share kind, with their folders under the run's scratch folder. */
  deps(share: 'virtiofs' | '9p', work: string): Promise<SandboxDeps>;
  /** What the run is: acceleration, VM size, block backend; copied into the result. */
  describe: Record<string, unknown>;
  onProgress(line: string): void;
  /** Told the scratch folder as soon as it exists (to clean it up if the run is interrupted). */
  onScratch?(dir: string): void;
}

export interface PathResult {
  samples: number[];
  summary: Summary;
  /** Host CPU milliseconds per operation, by process, median over rounds. */
  hostCpuMsPerOp: Record<string, number>;
}

export interface WorkloadResult {
  id: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  paths: Partial<Record<PathId, PathResult>>;
}

export interface IoBenchResult {
  benchmark: 'io';
  startedAt: string;
  finishedAt: string;
  setup: Record<string, unknown>;
  params: Omit<WorkloadParams, 'dir'> & { rounds: number };
  workloads: WorkloadResult[];
  bootMs: Summary;
  attachMs: Partial<Record<PathId, Summary>>;
  rounds: RoundInfo[];
}

const median = (xs: number[]) => summarize(xs).median;
const SCRATCH_PREFIX = 'passvol-bench-';

export async function runIoBench(o: IoBenchOptions): Promise<IoBenchResult> {
  if (process.getuid?.() !== 0) throw failedPrecondition('the I/O benchmark needs root (loop devices, mounts, QEMU)');
  const workloads = WORKLOADS.filter((w) => o.workloads.includes(w.id));
  if (workloads.length === 0) throw failedPrecondition(`no workload selected; known: ${WORKLOADS.map((w) => w.id).join(', ')}`);
  accessSync(o.scratchParent);
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  for (const d of reclaimAbandonedScratch(o.scratchParent, SCRATCH_PREFIX)) o.onProgress(`removed what an interrupted run left in ${d}`);
  const work = await mkdtemp(join(o.scratchParent, SCRATCH_PREFIX));
  claimScratch(work);
  o.onScratch?.(work);
  o.onProgress(`scratch ${work}; building the workload tools and the source tarball`);
  const tools = await buildBenchTools(join(work, 'tools'), o.exec, o.quick ? QUICK_TARBALL_PACKAGES : TARBALL_PACKAGES, o.nodeModules);
  const base = {
    fioSeconds: o.quick ? 2 : 5,
    fioFileMiB: o.quick ? 32 : 64,
    files: o.quick ? 500 : 2000,
    tarball: '',
    tarballFiles: tools.tarball.files,
  };
  o.onProgress(`tarball: ${tools.tarball.files} files, ${(tools.tarball.bytes / 2 ** 20).toFixed(1)} MiB; twin ${o.diskMiB} MiB ext4 disks, NFS server, records`);
  const env = await startIoEnvironment({ work, tools, diskMiB: o.diskMiB, ...(o.mkfsArgs ? { mkfsArgs: o.mkfsArgs } : {}), exec: o.exec, log: o.log, deps: (share) => o.deps(share, work), paths: o.paths });
  const samples = new Map<string, { value: number; cpu: Record<string, number> }[]>();
  const rounds: RoundInfo[] = [];
  try {
    for (let r = 1; r <= o.rounds; r++) {
      o.onProgress(`round ${r}/${o.rounds}: booting the sandboxes`);
      const round = await env.startRound(r);
      try {
        o.onProgress(`round ${r}/${o.rounds}: boot ${Object.values(round.info.bootMs).join(' / ')} ms; attach ${JSON.stringify(round.info.attachMs)}`);
        const order = round.paths.map((_, i) => round.paths[(i + r - 1) % round.paths.length]!);
        for (const w of workloads) {
          for (const path of order) {
            const params = { ...base, dir: path.dir, tarball: path.tarball };
            for (const m of Object.values(path.meters)) m.start();
            const value = w.parse(await path.run(w.script(params)));
            const ops = Math.max(1, w.operations(params, value));
            const cpu = Object.fromEntries(Object.entries(path.meters).map(([name, m]) => [name, m.elapsedMs() / ops]));
            const key = `${w.id}/${path.id}`;
            samples.set(key, [...(samples.get(key) ?? []), { value, cpu }]);
            o.onProgress(`round ${r}/${o.rounds}: ${w.id} on ${path.id}: ${value.toFixed(w.unit === 's' ? 3 : 0)} ${w.unit} (${Math.round((Date.now() - t0) / 1000)} s in)`);
          }
        }
        await round.sampleMemory();
        for (const path of round.paths) await path.reset();
        rounds.push(round.info);
      } finally {
        await round.close();
      }
    }
  } finally {
    await env.close();
    await removeWork(work);
  }
  const results: WorkloadResult[] = workloads.map((w) => ({
    id: w.id,
    label: w.label,
    unit: w.unit,
    better: w.better,
    paths: Object.fromEntries(
      PATH_IDS.filter((p) => samples.has(`${w.id}/${p}`)).map((p) => {
        const s = samples.get(`${w.id}/${p}`)!;
        const meters = Object.keys(s[0]?.cpu ?? {});
        return [p, { samples: s.map((x) => x.value), summary: summarize(s.map((x) => x.value)), hostCpuMsPerOp: Object.fromEntries(meters.map((m) => [m, median(s.map((x) => x.cpu[m] ?? 0))])) }];
      }),
    ),
  }));
  const attachMs: Partial<Record<PathId, Summary>> = {};
  for (const p of PATH_IDS) {
    const xs = rounds.flatMap((r) => (r.attachMs[p] === undefined ? [] : [r.attachMs[p]]));
    if (xs.length) attachMs[p] = summarize(xs);
  }
  return {
    benchmark: 'io',
    startedAt,
    finishedAt: new Date().toISOString(),
    setup: o.describe,
    params: { ...base, tarball: `${tools.tarball.files} files, ${tools.tarball.bytes} bytes`, rounds: o.rounds },
    workloads: results,
    bootMs: summarize(rounds.flatMap((r) => Object.values(r.bootMs))),
    attachMs,
    rounds,
  };
}
