// The I/O benchmark's node: two identical disks (sparse image files on the same host filesystem, loop
// devices, ext4), one mounted on the host, the other kept for passthrough; the embedded NFS server exporting
// a folder of the host-mounted disk; direct-volume records as the CSI driver leaves them; and per round two
// sandboxes with the same VM configuration: one with the passed-through disk, the passed-through NFS export
// and a virtio-fs share, one with a 9p share. Every path then runs the same scripts.
import { spawn } from 'node:child_process';
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Exec } from '../common/exec.js';
import type { Logger } from '../common/logger.js';
import { undoMountsAndLoops } from '../common/scratch-cleanup.js';
import { EmbeddedNfsServer, type EmbeddedNfsServerInfo } from '../csi/backends/nas/embedded-nfs-server.js';
import { defaultMountOptions } from '../csi/backends/nas/nfs-options.js';
import { RecordStore } from '../directvolume/index.js';
import { readBundle } from '../runtime/oci/bundle.js';
import { Sandbox, type SandboxDeps } from '../runtime/sandbox/sandbox.js';
import type { BenchTools } from './bench-rootfs.js';
import { CpuMeter, processesIn, rssKiB } from './host-processes.js';
import { WORKLOAD_FILES } from './io-workloads.js';

export const PATH_IDS = ['host', 'blk', 'virtiofs', '9p', 'nas'] as const;
export type PathId = (typeof PATH_IDS)[number];
export const PATH_LABELS: Record<PathId, string> = {
  host: 'host-native',
  blk: 'passthrough block',
  virtiofs: 'virtio-fs',
  '9p': '9p',
  nas: 'passthrough NAS',
};

export interface BenchPath {
  id: PathId;
  /** The folder the scripts work in, as the script sees it. */
  dir: string;
  tarball: string;
  run(script: string): Promise<string>;
  /**
   * Removes what the workloads left. Folders the host serves (host, virtio-fs, 9p, NFS) are cleaned on the
   * host, where deleting thousands of files takes a moment instead of minutes over 9p; the passed-through
   * disk is cleaned in the guest, the only place it is mounted.
   */
  reset(): Promise<void>;
  /** Host processes whose CPU time this path's I/O costs (QEMU, virtiofsd, the NFS server). */
  meters: Record<string, CpuMeter>;
}

export interface RoundInfo {
  bootMs: Record<string, number>;
  attachMs: Partial<Record<PathId, number>>;
  memory: Record<string, { qemuRssKiB: number; helperRssKiB: number; guestMemTotalKiB: number; guestMemAvailableKiB: number; agentRssKiB: number }>;
}

export interface Round {
  paths: BenchPath[];
  info: RoundInfo;
  /** Samples memory into info.memory (call after the workloads). */
  sampleMemory(): Promise<void>;
  close(): Promise<void>;
}

export interface IoEnvironment {
  diskDevices: { host: string; passthrough: string };
  nfs: EmbeddedNfsServerInfo;
  startRound(n: number): Promise<Round>;
  close(): Promise<void>;
}

export interface IoEnvironmentOptions {
  work: string;
  tools: BenchTools;
  diskMiB: number;
  /** Extra mkfs.ext4 arguments for both twin disks, as a StorageClass's mkfsOptions gives them. */
  mkfsArgs?: readonly string[];
  exec: Exec;
  log: Logger;
  /** Sandbox dependencies for a share kind (the CLI builds them from the guest image). */
  deps(share: 'virtiofs' | '9p'): Promise<SandboxDeps>;
  paths: readonly PathId[];
}

const pidsOf = (folder: string, name: RegExp) => () => processesIn(folder, name);

async function makeDisk(o: IoEnvironmentOptions, name: string): Promise<string> {
  const img = join(o.work, `${name}.img`);
  await writeFile(img, '');
  await truncate(img, o.diskMiB * 2 ** 20);
  const dev = (await o.exec.run('losetup', ['--find', '--show', img])).stdout.trim();
  await o.exec.run('mkfs.ext4', ['-q', '-F', ...(o.mkfsArgs ?? []), dev], { timeoutMs: 300_000 });
  return dev;
}

function hostRunner(hostBin: string): (script: string) => Promise<string> {
  return (script) =>
    new Promise((resolve, reject) => {
      const child = spawn('/bin/busybox', ['sh', '-c', script], { env: { PATH: hostBin, HOME: '/root' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`host workload failed (exit ${code}): ${err.trim().slice(-400)}`))));
    });
}

function sandboxRunner(sb: Sandbox): (script: string) => Promise<string> {
  return async (script) => {
    const r = await sb.exec(['/bin/sh', '-c', script]);
    if (r.exitCode !== 0) throw new Error(`workload in sandbox ${sb.id} failed (exit ${r.exitCode}): ${r.stderr.trim().slice(-400)}`);
    return r.stdout;
  };
}

export function benchBundle(dir: string, rootfs: string, mounts: { destination: string; source: string }[]): string {
  const config = {
    ociVersion: '1.0.2',
    process: { args: ['/bin/sleep', '1000000'], env: ['PATH=/bin:/usr/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
    root: { path: rootfs },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, ...mounts.map((m) => ({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', 'rw'] }))],
  };
  return JSON.stringify(config);
}

export async function startIoEnvironment(o: IoEnvironmentOptions): Promise<IoEnvironment> {
  const want = new Set(o.paths);
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((e: Error) => o.log.warn({ err: e.message }, 'bench cleanup step failed'));
    undoMountsAndLoops(o.work);
  };
  try {
    const hostDev = await makeDisk(o, 'disk-host');
    const passDev = await makeDisk(o, 'disk-passthrough');
    const mnt = join(o.work, 'mnt');
    await mkdir(mnt);
    await o.exec.run('mount', [hostDev, mnt]);
    cleanups.push(async () => void (await o.exec.run('umount', [mnt])));
    for (const d of ['host', 'virtiofs', '9p', 'nas']) await mkdir(join(mnt, d));

    const nfsState = join(o.work, 'nfs-state');
    const nfsServer = new EmbeddedNfsServer({ exportDir: join(mnt, 'nas'), stateDir: nfsState, forgetClients: true });
    const nfs = await nfsServer.start();
    cleanups.push(() => nfsServer.stop());

    const records = new RecordStore(join(o.work, 'direct-volumes'));
    const blkTarget = join(o.work, 'kubelet/pods/bench/volumes/blk/mount');
    const nasTarget = join(o.work, 'kubelet/pods/bench/volumes/nas/mount');
    for (const t of [blkTarget, nasTarget]) await mkdir(t, { recursive: true });
    await records.add(blkTarget, { 'volume-type': 'directvol', device: passDev, fstype: 'ext4', options: ['rw', 'nosuid', 'nodev'] });
    await records.add(nasTarget, { 'volume-type': 'nfs', device: `${nfs.server}:${nfs.share}`, fstype: 'nfs4', options: [...defaultMountOptions('4.1'), 'rw', 'nosuid', 'nodev'] });
    cleanups.push(async () => {
      await records.remove(blkTarget);
      await records.remove(nasTarget);
    });

    const startRound = async (n: number): Promise<Round> => {
      const sandboxes: Sandbox[] = [];
      const closeRound = async () => {
        for (const sb of sandboxes.reverse()) await sb.destroy().catch((e: Error) => o.log.warn({ err: e.message }, 'sandbox teardown failed'));
      };
      try {
        const info: RoundInfo = { bootMs: {}, attachMs: {}, memory: {} };
        const paths: BenchPath[] = [];
        const tarball = o.tools.tarball;
        const hostReset = (dir: string) => async () => {
          for (const f of WORKLOAD_FILES) await rm(join(dir, f), { recursive: true, force: true });
        };
        if (want.has('host')) paths.push({ id: 'host', dir: join(mnt, 'host'), tarball: tarball.hostPath, run: hostRunner(o.tools.hostBin), reset: hostReset(join(mnt, 'host')), meters: {} });
        const boot = async (id: string, share: 'virtiofs' | '9p', mounts: { destination: string; source: string; path: PathId }[]) => {
          const dir = join(o.work, `bundle-${id}`);
          await mkdir(dir, { recursive: true });
          await writeFile(join(dir, 'config.json'), benchBundle(dir, o.tools.rootfs, mounts));
          const deps = await o.deps(share);
          const sb = await Sandbox.create(id, await readBundle(dir), deps);
          sandboxes.push(sb);
          await sb.start(() => undefined);
          info.bootMs[id] = sb.timings.bootMs;
          for (const m of mounts) if (sb.timings.volumeMs[m.destination] !== undefined) info.attachMs[m.path] = sb.timings.volumeMs[m.destination];
          const stateDir = deps.dirs.dir(id);
          const qemu = new CpuMeter(pidsOf(stateDir, /^qemu/));
          const virtiofsd = new CpuMeter(pidsOf(stateDir, /virtiofsd/));
          const ganesha = new CpuMeter(pidsOf(nfsState, /ganesha/));
          for (const m of mounts) {
            const meters: Record<string, CpuMeter> = { qemu };
            if (m.path === 'virtiofs') meters.virtiofsd = virtiofsd;
            if (m.path === 'nas') meters['nfs-ganesha'] = ganesha;
            const run = sandboxRunner(sb);
            const reset = m.path === 'blk' ? async () => void (await run(`cd ${m.destination} && rm -rf ${WORKLOAD_FILES.join(' ')} && sync`)) : hostReset(join(mnt, m.path));
            paths.push({ id: m.path, dir: m.destination, tarball: tarball.guestPath, run, reset, meters });
          }
          return { sb, stateDir };
        };
        const sandboxesOfRound: { sb: Sandbox; stateDir: string }[] = [];
        const first = [
          ...(want.has('blk') ? [{ destination: '/blk', source: blkTarget, path: 'blk' as const }] : []),
          ...(want.has('nas') ? [{ destination: '/nas', source: nasTarget, path: 'nas' as const }] : []),
          ...(want.has('virtiofs') ? [{ destination: '/virtiofs', source: join(mnt, 'virtiofs'), path: 'virtiofs' as const }] : []),
        ];
        if (first.length) sandboxesOfRound.push(await boot(`bench-${n}-a`, 'virtiofs', first));
        if (want.has('9p')) sandboxesOfRound.push(await boot(`bench-${n}-9p`, '9p', [{ destination: '/9p', source: join(mnt, '9p'), path: '9p' }]));
        paths.sort((a, b) => PATH_IDS.indexOf(a.id) - PATH_IDS.indexOf(b.id));
        return {
          paths,
          info,
          async sampleMemory() {
            for (const { sb, stateDir } of sandboxesOfRound) {
              const g = await sb.guestInfo();
              const rss = (re: RegExp) => pidsOf(stateDir, re)().reduce((sum, p) => sum + rssKiB(p), 0);
              info.memory[sb.id] = { qemuRssKiB: rss(/^qemu/), helperRssKiB: rss(/virtiofsd/), guestMemTotalKiB: g.memTotalKiB, guestMemAvailableKiB: g.memAvailableKiB, agentRssKiB: g.agentRssKiB };
            }
          },
          close: closeRound,
        };
      } catch (e) {
        await closeRound();
        throw e;
      }
    };
    return { diskDevices: { host: hostDev, passthrough: passDev }, nfs, startRound, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function removeWork(work: string): Promise<void> {
  undoMountsAndLoops(work);
  await rm(work, { recursive: true, force: true });
}
