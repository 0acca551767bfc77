// The I/O benchmark for people: a Markdown table of medians with their spread and ratios to host-native
// and to virtio-fs, the targets the project set itself with what was met, and a chart of the passed-through
// disk's speed against every other path.
import type { IoBenchResult, WorkloadResult } from './io-bench.js';
import { PATH_IDS, PATH_LABELS, type PathId } from './io-environment.js';
import { round, summarize } from './stats.js';
import { ratioChart } from './svg-bar-chart.js';

/** How many times better `a` is than `b` for this workload (above 1: `a` wins). */
export function speedup(w: WorkloadResult, a: PathId, b: PathId): number | undefined {
  const x = w.paths[a]?.summary.median;
  const y = w.paths[b]?.summary.median;
  if (x === undefined || y === undefined || x <= 0 || y <= 0) return undefined;
  return w.better === 'higher' ? x / y : y / x;
}

export interface Target {
  workload: string;
  against: PathId;
  atLeast: number;
}

/** What the project promised for passthrough (issue 5), checked against each run. */
export const TARGETS: readonly Target[] = [
  { workload: 'untar', against: 'virtiofs', atLeast: 8 },
  { workload: 'untar', against: '9p', atLeast: 50 },
  { workload: 'create', against: 'virtiofs', atLeast: 4 },
  { workload: 'fsync-loop', against: 'virtiofs', atLeast: 1 },
];

/** What software emulation does to each kind of figure, so nobody reads TCG ratios as KVM ones. */
const TCG_MEANING = [
  'What TCG (software emulation: every guest instruction is emulated) means for these figures:',
  '- Host-native runs at full speed, so its lead over every guest path is far larger than it would be under KVM.',
  "- Metadata work, the fsync loop and 4k random I/O are guest-CPU-bound. Passthrough does this work in the guest's own ext4",
  '  and block layer, which TCG emulates, while virtio-fs and 9p hand most of theirs to native host processes (virtiofsd,',
  "  QEMU's 9p server). So passthrough's ratios to virtio-fs and 9p here understate what it gains under KVM.",
  '- 1 MiB sequential bandwidth is bounded more by copies in QEMU than by emulated instructions; it moves least.',
  '- Boot and attach times are emulated guest start-up and kernel work: several times what KVM takes.',
].join('\n');

/** A median as the tables print it: seconds to 2-3 decimals, rates grouped or to one decimal. */
export const fmtValue = (v: number, unit: string): string => (unit === 's' ? v.toFixed(v < 1 ? 3 : 2) : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
const ratio = (x: number | undefined) => (x === undefined ? '-' : `${round(x, x < 10 ? 2 : 1)}×`);

export function ioBenchMarkdown(r: IoBenchResult): string {
  const paths = PATH_IDS.filter((p) => r.workloads.some((w) => w.paths[p]));
  const accel = String(r.setup.accel ?? 'unknown');
  const lines = [
    '# I/O: passthrough against host-native, virtio-fs, 9p and guest NFS',
    '',
    `Measured ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.params.rounds} rounds; each cell is the median, with the range of the rounds below it. ` +
      `Acceleration: **${accel.toUpperCase()}**.`,
    ...(accel === 'tcg' ? ['', TCG_MEANING, ''] : []),
    `Setup: ${Object.entries(r.setup).filter(([k]) => k !== 'accel').map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('; ')}.`,
    `Workloads: fio ${r.params.fioSeconds} s per job on a ${r.params.fioFileMiB} MiB file (O_DIRECT, libaio); ${r.params.files} files of 4 KiB; tarball of ${r.params.tarball}. Caches dropped before each.`,
    '',
    `| workload | ${paths.map((p) => PATH_LABELS[p]).join(' | ')} | passthrough vs host | vs virtio-fs | vs 9p |`,
    `|---|${paths.map(() => '---:').join('|')}|---:|---:|---:|`,
  ];
  for (const w of r.workloads) {
    const cells = paths.map((p) => {
      const s = w.paths[p]?.summary;
      return s ? `${fmtValue(s.median, w.unit)}<br><sub>${fmtValue(s.min, w.unit)}–${fmtValue(s.max, w.unit)}</sub>` : '-';
    });
    lines.push(`| ${w.label} (${w.unit}, ${w.better} is better) | ${cells.join(' | ')} | ${ratio(speedup(w, 'blk', 'host'))} | ${ratio(speedup(w, 'blk', 'virtiofs'))} | ${ratio(speedup(w, 'blk', '9p'))} |`);
  }
  lines.push('', 'Ratios compare the passthrough block path; above 1× passthrough is faster. Passthrough NAS against virtio-fs:');
  lines.push('', r.workloads.map((w) => `${w.id} ${ratio(speedup(w, 'nas', 'virtiofs'))}`).join(', ') + '.');
  lines.push('', '## Targets', '', '| target | measured | met |', '|---|---:|:---:|');
  for (const t of TARGETS) {
    const w = r.workloads.find((x) => x.id === t.workload);
    const x = w ? speedup(w, 'blk', t.against) : undefined;
    lines.push(`| passthrough ${t.workload} ≥ ${t.atLeast}× ${PATH_LABELS[t.against]} | ${ratio(x)} | ${x === undefined ? 'not measured' : x >= t.atLeast ? 'yes' : '**no**'} |`);
  }
  lines.push('', '## Host CPU per operation (ms, median)', '', 'Attributed to the host processes that serve each guest path. Under TCG QEMU\'s time is mostly the emulated guest itself.', '');
  lines.push('| workload | path | host CPU ms per op |', '|---|---|---|');
  for (const w of r.workloads) {
    for (const p of paths) {
      const c = w.paths[p]?.hostCpuMsPerOp;
      if (c && Object.keys(c).length) lines.push(`| ${w.id} | ${PATH_LABELS[p]} | ${Object.entries(c).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')} |`);
    }
  }
  lines.push('', '## Sandboxes', '', `Boot to agent ready: median ${Math.round(r.bootMs.median)} ms (${Math.round(r.bootMs.min)}–${Math.round(r.bootMs.max)}, n=${r.bootMs.n}).`);
  lines.push(`Volume ready in the guest (attach + mount): ${Object.entries(r.attachMs).map(([p, s]) => `${PATH_LABELS[p as PathId]} ${Math.round(s.median)} ms`).join(', ')}.`);
  // Medians over the rounds, per sandbox (each round starts fresh sandboxes with the same ids).
  const ids = [...new Set(r.rounds.flatMap((x) => Object.keys(x.memory)))];
  for (const id of ids) {
    const samples = r.rounds.flatMap((x) => (x.memory[id] ? [x.memory[id]] : []));
    const mib = (f: (m: (typeof samples)[number]) => number) => Math.round(summarize(samples.map(f)).median / 1024);
    lines.push(
      `Memory of ${id} after the workloads (median of ${samples.length}): QEMU RSS ${mib((m) => m.qemuRssKiB)} MiB, virtiofsd RSS ${mib((m) => m.helperRssKiB)} MiB; ` +
        `guest ${mib((m) => m.guestMemTotalKiB - m.guestMemAvailableKiB)} of ${mib((m) => m.guestMemTotalKiB)} MiB in use, agent RSS ${mib((m) => m.agentRssKiB)} MiB.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The headline at a glance: how many times faster the passed-through disk is than each other path, per workload. */
export function ioBenchSvg(r: IoBenchResult): string {
  const against = (['virtiofs', '9p', 'host'] as const).filter((p) => r.workloads.some((w) => w.paths[p]));
  const groups = r.workloads.map((w) => ({
    label: w.id,
    bars: against.flatMap((p) => {
      const x = speedup(w, 'blk', p);
      return x === undefined ? [] : [{ series: `vs ${PATH_LABELS[p]}`, value: x }];
    }),
  }));
  const accel = String(r.setup.accel ?? '').toUpperCase();
  return ratioChart(
    `Passthrough disk: times as fast as each path (log scale, ${accel})`,
    groups,
    `Right of the 1× line the passed-through disk wins. Medians of ${r.params.rounds} rounds, ${r.startedAt.slice(0, 10)}; ${accel === 'TCG' ? 'under TCG the guest\'s own filesystem work is emulated.' : ''}`,
  );
}
