// `passvol bench boot`: how long a sandbox takes to start, booted against restored from a VM template,
// side by side. Each round starts one sandbox each way (which goes first alternates, against drift), each
// with a passed-through ext4 disk, and tears it down. Figures: launch to agent ready (what the runtime
// waits for), the disk's hot-plug + guest mount, and the whole Sandbox.create.
import { copyFile, mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Exec } from '../common/exec.js';
import type { Logger } from '../common/logger.js';
import { undoMountsAndLoops } from '../common/scratch-cleanup.js';
import { RecordStore } from '../directvolume/index.js';
import { readBundle } from '../runtime/oci/bundle.js';
import { Sandbox, type SandboxDeps } from '../runtime/sandbox/sandbox.js';
import { benchBundle } from './io-environment.js';
import { processesIn, rssKiB } from './host-processes.js';
import { summarize, type Summary } from './stats.js';

export const BOOT_MODES = ['boot', 'template'] as const;
export type BootMode = (typeof BOOT_MODES)[number];

export interface BootSample {
  mode: BootMode;
  round: number;
  agentReadyMs: number;
  diskReadyMs: number;
  createMs: number;
  /** QEMU's resident memory once the sandbox is up, and what the guest kernel says is free. */
  qemuRssMiB: number;
  guestAvailableMiB: number;
}

const FIELDS = ['agentReadyMs', 'diskReadyMs', 'createMs', 'qemuRssMiB', 'guestAvailableMiB'] as const;
type SampleField = (typeof FIELDS)[number];

export interface BootBenchResult {
  measuredAt: string;
  accel: string;
  rounds: number;
  memoryMiB: number;
  cpus: number;
  /** Making the template: one boot to a settled guest, then the save. */
  templateMakeMs: number;
  samples: BootSample[];
  summary: Record<BootMode, Record<SampleField, Summary>>;
}

export interface BootBenchOptions {
  rounds: number;
  /** Scratch folder: the disk image, records and sandbox state. */
  work: string;
  memoryMiB: number;
  cpus: number;
  exec: Exec;
  log: Logger;
  /** Runtime dependencies for sandboxes under `runtimeRoot`; with `templates` set, they start from templates there. */
  deps: (o: { directVolumes: string; runtimeRoot: string; goShimRoot: string; templates?: string }) => Promise<SandboxDeps>;
  /** Where templates go: a tmpfs. */
  templatesDir: string;
  onProgress: (line: string) => void;
}

async function busyboxRootfs(dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'tmp', 'data']) await mkdir(join(rootfs, d), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const a of ['sh', 'sleep']) await symlink('busybox', join(rootfs, 'bin', a));
  return rootfs;
}

export async function runBootBench(o: BootBenchOptions): Promise<BootBenchResult> {
  await mkdir(o.work, { recursive: true });
  try {
    const img = join(o.work, 'disk.img');
    await writeFile(img, '');
    await truncate(img, 256 * 2 ** 20);
    const dev = (await o.exec.run('losetup', ['--find', '--show', img])).stdout.trim();
    await o.exec.run('mkfs.ext4', ['-q', '-F', dev]);
    const directVolumes = join(o.work, 'direct-volumes');
    const target = join(o.work, 'target');
    await mkdir(target);
    await new RecordStore(directVolumes).add(target, { 'volume-type': 'directvol', device: dev, fstype: 'ext4', options: ['rw', 'nosuid', 'nodev'] });
    const bundleDir = join(o.work, 'bundle');
    const rootfs = await busyboxRootfs(bundleDir);
    await writeFile(join(bundleDir, 'config.json'), benchBundle(bundleDir, rootfs, [{ destination: '/data', source: target }]));
    const bundle = await readBundle(bundleDir);
    const common = { directVolumes, runtimeRoot: join(o.work, 'sandboxes'), goShimRoot: join(o.work, 'vc-sbs') };
    const deps: Record<BootMode, SandboxDeps> = { boot: await o.deps(common), template: await o.deps({ ...common, templates: o.templatesDir }) };
    const templates = deps.template.templates;
    if (!templates) throw new Error('the template deps have no template store');

    o.onProgress('making the VM template (one boot, then the save)');
    const made = Date.now();
    await templates.get({ image: deps.template.image, memoryMiB: o.memoryMiB, cpus: o.cpus });
    const templateMakeMs = Date.now() - made;

    const samples: BootSample[] = [];
    let accel = 'unknown';
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? BOOT_MODES : [...BOOT_MODES].reverse();
      for (const mode of order) {
        const started = Date.now();
        const sb = await Sandbox.create(`boot-${mode}-${round}`, bundle, deps[mode]);
        const createMs = Date.now() - started;
        try {
          accel = sb.accel;
          const qemuRssKiB = processesIn(join(common.runtimeRoot, sb.id), /^qemu/).reduce((sum, p) => sum + rssKiB(p), 0);
          const guest = await sb.guestInfo();
          const sample = { mode, round, agentReadyMs: sb.timings.bootMs, diskReadyMs: sb.timings.volumeMs['/data'] ?? NaN, createMs, qemuRssMiB: Math.round(qemuRssKiB / 1024), guestAvailableMiB: Math.round(guest.memAvailableKiB / 1024) };
          samples.push(sample);
          o.onProgress(`round ${round}/${o.rounds}: ${mode}: agent ready ${sample.agentReadyMs} ms, disk ready ${sample.diskReadyMs} ms, create ${createMs} ms, QEMU RSS ${sample.qemuRssMiB} MiB`);
        } finally {
          await sb.destroy();
        }
      }
    }
    await templates.removeAll();
    const of = (mode: BootMode, k: SampleField) => summarize(samples.filter((s) => s.mode === mode).map((s) => s[k]));
    const summary = Object.fromEntries(BOOT_MODES.map((m) => [m, Object.fromEntries(FIELDS.map((k) => [k, of(m, k)]))])) as BootBenchResult['summary'];
    return { measuredAt: new Date().toISOString(), accel, rounds: o.rounds, memoryMiB: o.memoryMiB, cpus: o.cpus, templateMakeMs, samples, summary };
  } finally {
    undoMountsAndLoops(o.work);
    await rm(o.work, { recursive: true, force: true });
  }
}
