// `passvol bench <what>`: runs a benchmark and writes JSON, Markdown and SVG results. Never part of tests.
import { Command, Option } from 'commander';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemExec } from '../../common/exec.js';
import { cleanUpOnInterrupt } from '../../common/scratch-cleanup.js';
import { createLogger } from '../../common/logger.js';
import { runIoBench } from '../../bench/io-bench.js';
import { PATH_IDS } from '../../bench/io-environment.js';
import { ioBenchMarkdown, ioBenchSvg } from '../../bench/io-report.js';
import { WORKLOAD_IDS } from '../../bench/io-workloads.js';
import { probeAccelFacts, decideAccel } from '../../runtime/qemu/accel.js';
import { runtimeDeps } from '../runtime-setup.js';
import { z } from 'zod';
import { parseFlags } from '../parse-flags.js';
import { logLevelHelp } from '../log-level.js';
import { writeReport } from '../../bench/bench-report.js';
import { mkfsArgs } from '../../csi/backends/disk/disk-parameters.js';
import { runCsiPublishBench } from '../../bench/csi-publish-bench.js';
import { runBootBench } from '../../bench/boot-bench.js';
import { bootMarkdown, bootSvg } from '../../bench/boot-report.js';
import { csiPublishMarkdown, csiPublishSvg } from '../../bench/csi-publish-report.js';
import { IO_TABLE_END, IO_TABLE_START, ioReadmeTable, replaceBetween } from '../../bench/readme-table.js';
import type { IoBenchResult } from '../../bench/io-bench.js';
import type { BootBenchResult } from '../../bench/boot-bench.js';
import type { CsiBenchResult } from '../../bench/csi-publish-bench.js';
import { invalidArgument } from '../../common/errors.js';

const BootOptions = z.object({
  out: z.string().min(1),
  rounds: z.coerce.number().int().min(1).max(50),
  memory: z.coerce.number().int().min(256).max(16384),
  cpus: z.coerce.number().int().min(1).max(16),
  scratch: z.string().min(1),
  templates: z.string().min(1),
  logLevel: z.string().optional(),
});

const CsiOptions = z.object({ out: z.string().min(1), callers: z.coerce.number().int().min(1).max(256), rounds: z.coerce.number().int().min(1).max(100) });

const list = <T extends string>(known: readonly T[]) =>
  z
    .string()
    .transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(known as unknown as [T, ...T[]])).min(1));

const IoOptions = z.object({
  out: z.string().min(1),
  rounds: z.coerce.number().int().min(1).max(20),
  quick: z.boolean().default(false),
  paths: list(PATH_IDS),
  workloads: list(WORKLOAD_IDS as readonly string[]),
  scratch: z.string().min(1),
  diskSize: z.coerce.number().int().min(256).max(65536),
  mkfsOptions: z.string().max(512).default(''),
  memory: z.coerce.number().int().min(256).max(16384),
  cpus: z.coerce.number().int().min(1).max(16),
  blockCache: z.enum(['direct', 'writeback']),
  blockAio: z.enum(['native', 'io_uring', 'threads']),
  iothread: z.boolean().default(false),
  logLevel: z.string().optional(),
});

/** The repository's node_modules (the tarball's source), found from this file in src/ or dist/. */
const nodeModules = () => join(fileURLToPath(new URL('.', import.meta.url)), '../../../node_modules');

export function benchCommand(): Command {
  const bench = new Command('bench').description('measure passvol (writes results files and a chart)');
  bench
    .command('csi')
    .description('NodePublish/NodeUnpublish latency: passthrough vs host mounts, many concurrent callers; driver memory')
    .option('--out <dir>', 'results folder', 'bench/results')
    .option('--callers <n>', 'concurrent callers, each on its own volume', '32')
    .option('--rounds <n>', 'rounds per path', '10')
    .action(async (raw) => {
      const o = parseFlags(CsiOptions, raw);
      const result = await runCsiPublishBench({ callers: o.callers, rounds: o.rounds, onProgress: (l) => process.stderr.write(`[bench csi] ${l}\n`) });
      const md = csiPublishMarkdown(result);
      const files = await writeReport(o.out, 'csi-publish', result, md, csiPublishSvg(result));
      process.stdout.write(`${md}\nwrote ${files.json}, ${files.markdown}, ${files.svg}\n`);
    });
  bench
    .command('io')
    .description('I/O side by side: host-native, passthrough block, virtio-fs, 9p, passthrough NAS (needs root)')
    .option('--out <dir>', 'results folder', 'bench/results')
    .option('--rounds <n>', 'rounds (fresh sandboxes each); medians and ranges over them', '3')
    .option('--quick', 'short fio jobs, fewer files, a small tarball: a smoke run, not figures to quote')
    .option('--paths <list>', `paths to measure (${PATH_IDS.join(',')})`, PATH_IDS.join(','))
    .option('--workloads <list>', `workloads (${WORKLOAD_IDS.join(',')})`, WORKLOAD_IDS.join(','))
    .option('--scratch <dir>', 'folder for the disk images: the backing storage of every path', '/var/tmp')
    .option('--disk-size <MiB>', 'size of each of the twin disks', '2048')
    .option('--mkfs-options <args>', 'extra mkfs.ext4 arguments for both disks, as a StorageClass mkfsOptions (e.g. "-O fast_commit")', '')
    .option('--memory <MiB>', 'guest memory of each sandbox', '1024')
    .option('--cpus <n>', 'guest CPUs of each sandbox', '1')
    .addOption(new Option('--block-cache <mode>', 'how the passed-through disk is opened: O_DIRECT or through the host page cache').choices(['direct', 'writeback']).default('direct'))
    .addOption(new Option('--block-aio <engine>', 'QEMU aio engine for the passed-through disk').choices(['native', 'io_uring', 'threads']).default('native'))
    .option('--iothread', 'give the passed-through disk its own QEMU iothread')
    .option('--log-level <level>', logLevelHelp('runtime log level', 'warn'))
    .action(async (raw) => {
      const o = parseFlags(IoOptions, raw);
      const log = createLogger({ level: o.logLevel, defaultLevel: 'warn' }).child({ part: 'bench' });
      const blockBackend = { cacheDirect: o.blockCache === 'direct', aio: o.blockAio, iothread: o.iothread };
      const accel = decideAccel(await probeAccelFacts());
      const scratch: string[] = [];
      cleanUpOnInterrupt(() => scratch);
      const result = await runIoBench({
        rounds: o.rounds,
        quick: o.quick,
        paths: o.paths,
        workloads: o.workloads,
        scratchParent: o.scratch,
        diskMiB: o.diskSize,
        mkfsArgs: mkfsArgs(o.mkfsOptions),
        nodeModules: nodeModules(),
        exec: systemExec,
        log,
        deps: (share, work) =>
          runtimeDeps({ root: join(work, 'direct-volumes'), runtimeRoot: join(work, 'sandboxes'), goShimRoot: join(work, 'vc-sbs'), share, memory: String(o.memory), cpus: String(o.cpus), blockBackend }, log),
        describe: { accel: accel.accel, ...(accel.reason ? { 'why not KVM': accel.reason } : {}), 'guest memory MiB': o.memory, 'guest CPUs': o.cpus, 'passthrough disk backend': blockBackend, disks: `twin ${o.diskSize} MiB sparse images in ${o.scratch}, loop devices, ext4${o.mkfsOptions ? ` (mkfs.ext4 ${o.mkfsOptions})` : ''}` },
        onProgress: (l) => process.stderr.write(`[bench io] ${l}\n`),
        onScratch: (dir) => scratch.push(dir),
      });
      const md = ioBenchMarkdown(result);
      const name = o.quick ? 'io-quick' : 'io';
      const files = await writeReport(o.out, name, result, md, ioBenchSvg(result));
      process.stdout.write(`${md}\nwrote ${files.json}, ${files.markdown}, ${files.svg}\n`);
    });
  bench
    .command('boot')
    .description('sandbox start: booted against restored from a VM template, with a passed-through disk (needs root)')
    .option('--out <dir>', 'results folder', 'bench/results')
    .option('--rounds <n>', 'rounds (one sandbox each way per round)', '5')
    .option('--memory <MiB>', 'guest memory', '512')
    .option('--cpus <n>', 'guest CPUs', '1')
    .option('--scratch <dir>', 'folder for the disk image and sandbox state', '/var/tmp')
    .option('--templates <dir>', 'folder for the VM template (a tmpfs)', '/dev/shm')
    .option('--log-level <level>', logLevelHelp('runtime log level', 'warn'))
    .action(async (raw) => {
      const o = parseFlags(BootOptions, raw);
      const log = createLogger({ level: o.logLevel, defaultLevel: 'warn' }).child({ part: 'bench' });
      const work = await mkdtemp(join(o.scratch, 'passvol-bench-boot-'));
      const templatesDir = await mkdtemp(join(o.templates, 'passvol-bench-templates-'));
      cleanUpOnInterrupt(() => [work, templatesDir]);
      try {
        const result = await runBootBench({
          rounds: o.rounds,
          work,
          templatesDir,
          memoryMiB: o.memory,
          cpus: o.cpus,
          exec: systemExec,
          log,
          deps: (d) => runtimeDeps({ root: d.directVolumes, runtimeRoot: d.runtimeRoot, goShimRoot: d.goShimRoot, memory: String(o.memory), cpus: String(o.cpus), ...(d.templates ? { vmTemplates: d.templates } : {}) }, log),
          onProgress: (l) => process.stderr.write(`[bench boot] ${l}\n`),
        });
        const md = bootMarkdown(result);
        const files = await writeReport(o.out, 'boot', result, md, bootSvg(result));
        process.stdout.write(`${md}\nwrote ${files.json}, ${files.markdown}, ${files.svg}\n`);
      } finally {
        await rm(templatesDir, { recursive: true, force: true });
      }
    });
  bench
    .command('report')
    .description("write the Markdown and the chart again from each results JSON (after a change to the reports), and the README's table with --readme")
    .option('--out <dir>', 'results folder', 'bench/results')
    .option('--readme <file>', "rewrite the I/O table between this file's marker lines")
    .action(async (raw) => {
      const o = parseFlags(ReportOptions, raw);
      const written = await rewriteReports(o.out, o.readme);
      process.stdout.write(written.length > 0 ? `wrote ${written.join(', ')}\n` : `no results JSON in ${o.out}\n`);
    });
  return bench;
}

const ReportOptions = z.object({ out: z.string().min(1), readme: z.string().min(1).optional() });

/** Every report whose JSON is in `dir`, rendered again; the README's table too when asked. Returns the files written. */
async function rewriteReports(dir: string, readme: string | undefined): Promise<string[]> {
  const read = async <T>(name: string): Promise<T | undefined> => {
    const text = await readFile(join(dir, `${name}.json`), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    return text === undefined ? undefined : (JSON.parse(text) as T);
  };
  const written: string[] = [];
  const again = async <T>(name: string, result: T | undefined, markdown: (r: T) => string, svg: (r: T) => string) => {
    if (result === undefined) return;
    const files = await writeReport(dir, name, result, markdown(result), svg(result));
    written.push(files.markdown, files.svg);
  };
  const io = await read<IoBenchResult>('io');
  await again('io', io, ioBenchMarkdown, ioBenchSvg);
  await again('boot', await read<BootBenchResult>('boot'), bootMarkdown, bootSvg);
  await again('csi-publish', await read<CsiBenchResult>('csi-publish'), csiPublishMarkdown, csiPublishSvg);
  if (readme) {
    if (!io) throw invalidArgument(`--readme needs ${join(dir, 'io.json')}`);
    const text = await readFile(readme, 'utf8');
    await writeFile(readme, replaceBetween(text, IO_TABLE_START, IO_TABLE_END, ioReadmeTable(io)));
    written.push(readme);
  }
  return written;
}
