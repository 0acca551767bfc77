// The I/O benchmark's workloads. Each one is a busybox sh script that runs unchanged on the host and inside
// a sandbox's container, so every path executes the same commands: fio (the same binary everywhere) for
// IOPS, bandwidth, the fsync loop and creating the small files; shell builtins for stat and delete, and
// busybox tar (no process per file, so the figure is the filesystem's, not fork's), timed in the script
// itself with $EPOCHREALTIME.
//
// Creating the files is fio's job, not a shell loop's: under TCG, busybox sh spent ~0.9 ms of emulated CPU
// expanding a 4 KiB variable for each file (measured writing it to /dev/null), more than the guest's ext4
// spent creating the file, so the loop timed the shell rather than the path.
import { z } from 'zod';

export interface WorkloadParams {
  /** Folder on the path under test; the script works below it. */
  dir: string;
  /** fio seconds per job (after a 1 s ramp). */
  fioSeconds: number;
  /** fio file size, MiB. */
  fioFileMiB: number;
  /** How many small files the metadata workloads create, stat and delete. */
  files: number;
  /** The source tarball, as a path where the script runs, and how many files it holds. */
  tarball: string;
  tarballFiles: number;
}

export interface Workload {
  id: string;
  label: string;
  unit: 'IOPS' | 'MiB/s' | 's';
  better: 'higher' | 'lower';
  script(p: WorkloadParams): string;
  /** The figure, from the script's stdout. */
  parse(stdout: string): number;
  /** Operations the figure covers, to divide host CPU time by (for a time, the files touched). */
  operations(p: WorkloadParams, value: number): number;
}

/** Before each workload: write back what is dirty and drop caches, so no path starts warm. */
const COLD = 'sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true';

const FioJob = z.object({
  /** Milliseconds the job ran, fio's own start-up excluded. */
  job_runtime: z.number(),
  read: z.object({ iops: z.number(), bw: z.number(), total_ios: z.number() }),
  write: z.object({ iops: z.number(), bw: z.number(), total_ios: z.number() }),
});
const FioOutput = z.object({ 'fio version': z.string(), jobs: z.array(FioJob).min(1) });

/** The JSON object fio prints (it may be preceded by notices). */
export function parseFio(stdout: string): z.infer<typeof FioJob> {
  const start = stdout.indexOf('{');
  const end = stdout.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error(`fio printed no JSON: ${stdout.slice(0, 300)}`);
  const parsed = FioOutput.safeParse(JSON.parse(stdout.slice(start, end + 1)));
  if (!parsed.success) throw new Error(`fio JSON not understood: ${parsed.error.issues[0]?.message}`);
  return parsed.data.jobs[0] as z.infer<typeof FioJob>;
}

/** `T0 <epoch> T1 <epoch>` lines the shell workloads print: elapsed seconds between them. */
export function parseElapsed(stdout: string): number {
  const t0 = /^T0 (\d+\.\d+)$/m.exec(stdout)?.[1];
  const t1 = /^T1 (\d+\.\d+)$/m.exec(stdout)?.[1];
  if (!t0 || !t1) throw new Error(`the workload printed no timing: ${stdout.slice(0, 300)}`);
  return Number(t1) - Number(t0);
}

function fio(p: WorkloadParams, name: string, job: string): string {
  return `${COLD}; fio --name=${name} --filename=${p.dir}/fio.dat --size=${p.fioFileMiB}M --direct=1 --time_based --runtime=${p.fioSeconds} --ramp_time=1 --output-format=json ${job}`;
}

function fioWorkload(id: string, label: string, rw: 'randread' | 'randwrite' | 'read' | 'write', bs: string, iodepth: number): Workload {
  const reads = rw === 'randread' || rw === 'read';
  const bandwidth = bs !== '4k';
  return {
    id,
    label,
    unit: bandwidth ? 'MiB/s' : 'IOPS',
    better: 'higher',
    script: (p) => fio(p, id, `--ioengine=libaio --rw=${rw} --bs=${bs} --iodepth=${iodepth}`),
    parse: (out) => {
      const side = parseFio(out)[reads ? 'read' : 'write'];
      return bandwidth ? side.bw / 1024 : side.iops;
    },
    // An I/O for IOPS, a MiB for bandwidth.
    operations: (p, value) => value * p.fioSeconds,
  };
}

const timed = (body: string) => `T0=$EPOCHREALTIME\n${body}\nT1=$EPOCHREALTIME\necho "T0 $T0"; echo "T1 $T1"`;

export const WORKLOADS: readonly Workload[] = [
  fioWorkload('randread-qd16', '4k random read, iodepth 16', 'randread', '4k', 16),
  fioWorkload('randwrite-qd16', '4k random write, iodepth 16', 'randwrite', '4k', 16),
  fioWorkload('randread-qd1', '4k random read, iodepth 1', 'randread', '4k', 1),
  fioWorkload('randwrite-qd1', '4k random write, iodepth 1', 'randwrite', '4k', 1),
  fioWorkload('seqread-1m', '1 MiB sequential read', 'read', '1M', 4),
  fioWorkload('seqwrite-1m', '1 MiB sequential write', 'write', '1M', 4),
  {
    id: 'fsync-loop',
    label: '4 KiB append + fsync loop (commit-like)',
    unit: 'IOPS',
    better: 'higher',
    // Appends to a new file, each write followed by fsync: what a database does with its log.
    script: (p) =>
      `rm -f ${p.dir}/wal.dat; ${COLD}; fio --name=fsync-loop --filename=${p.dir}/wal.dat --size=1G --file_append=1 --fallocate=none --ioengine=sync --rw=write --bs=4k --fsync=1 --time_based --runtime=${p.fioSeconds} --output-format=json; rm -f ${p.dir}/wal.dat`,
    parse: (out) => parseFio(out).write.iops,
    operations: (p, value) => value * p.fioSeconds,
  },
  {
    id: 'create',
    label: 'create small files (4 KiB each) + sync',
    unit: 's',
    better: 'lower',
    // fio creates each file when it opens it (create_on_open), writes its 4 KiB and closes it, one file after
    // another; the figure is fio's job time (its start-up left out) plus the sync that follows, timed here.
    script: (p) =>
      `rm -rf ${p.dir}/meta; mkdir ${p.dir}/meta; ${COLD}\n` +
      `fio --name=create --directory=${p.dir}/meta --filename_format='f$filenum' --nrfiles=${p.files} --filesize=4k --bs=4k --rw=write --ioengine=sync --openfiles=1 --create_on_open=1 --file_service_type=sequential --fallocate=none --thread --output-format=json\n` +
      timed('sync'),
    parse: (out) => parseFio(out).job_runtime / 1000 + parseElapsed(out),
    operations: (p) => p.files,
  },
  {
    id: 'stat',
    label: 'stat the small files (cold caches)',
    unit: 's',
    better: 'lower',
    script: (p) => `cd ${p.dir}/meta; ${COLD}\n` + timed(`i=0; while [ $i -lt ${p.files} ]; do [ -e f$i ] || exit 3; i=$((i+1)); done`),
    parse: parseElapsed,
    operations: (p) => p.files,
  },
  {
    id: 'delete',
    label: 'delete the small files + sync',
    unit: 's',
    better: 'lower',
    script: (p) => `cd ${p.dir}; ${COLD}\n` + timed('rm -rf meta; sync'),
    parse: parseElapsed,
    operations: (p) => p.files,
  },
  {
    id: 'untar',
    label: 'unpack a source tarball + sync',
    unit: 's',
    better: 'lower',
    // The tarball is first copied onto the path under test (untimed): the unpack reads and writes there.
    script: (p) =>
      `rm -rf ${p.dir}/src; mkdir ${p.dir}/src; cp ${p.tarball} ${p.dir}/src.tar; ${COLD}\n` +
      timed(`tar -xf ${p.dir}/src.tar -C ${p.dir}/src; sync`),
    parse: parseElapsed,
    operations: (p) => p.tarballFiles,
  },
];

export const WORKLOAD_IDS = WORKLOADS.map((w) => w.id);

/** What the workloads leave in their folder; the runner removes it between rounds (see BenchPath.reset). */
export const WORKLOAD_FILES = ['fio.dat', 'wal.dat', 'meta', 'src', 'src.tar'] as const;
