// The I/O benchmark for people: a Markdown table of medians with their spread and ratios to host-native
// and to virtio-fs, the targets the project set itself with what was met, and a chart of every path
// relative to host-native.
import type { IoBenchResult, WorkloadResult } from './io-bench.js';
import { PATH_IDS, PATH_LABELS, type PathId } from './io-environment.js';
import { round } from './stats.js';
import { barChart } from './svg-bar-chart.js';

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

const fmt = (v: number, unit: string) => (unit === 's' ? v.toFixed(v < 1 ? 3 : 2) : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
const ratio = (x: number | undefined) => (x === undefined ? '-' : `${round(x, x < 10 ? 2 : 1)}×`);

export function ioBenchMarkdown(r: IoBenchResult): string {
  const paths = PATH_IDS.filter((p) => r.workloads.some((w) => w.paths[p]));
  const accel = String(r.setup.accel ?? 'unknown');
  const lines = [
    '# I/O: passthrough against host-native, virtio-fs, 9p and guest NFS',
    '',
    `Measured ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.params.rounds} rounds; each cell is the median, with the range of the rounds below it. ` +
      `Acceleration: **${accel.toUpperCase()}**${accel === 'tcg' ? ' (software emulation: every guest instruction is emulated, so guest-side CPU work such as the block and NFS client stacks costs many times what it would under KVM; host-native runs at full speed, so its lead is exaggerated, while the ratios between guest paths compare like with like)' : ''}.`,
    `Setup: ${Object.entries(r.setup).filter(([k]) => k !== 'accel').map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('; ')}.`,
    `Workloads: fio ${r.params.fioSeconds} s per job on a ${r.params.fioFileMiB} MiB file (O_DIRECT, libaio); ${r.params.files} files of 4 KiB; tarball of ${r.params.tarball}. Caches dropped before each.`,
    '',
    `| workload | ${paths.map((p) => PATH_LABELS[p]).join(' | ')} | passthrough vs host | vs virtio-fs | vs 9p |`,
    `|---|${paths.map(() => '---:').join('|')}|---:|---:|---:|`,
  ];
  for (const w of r.workloads) {
    const cells = paths.map((p) => {
      const s = w.paths[p]?.summary;
      return s ? `${fmt(s.median, w.unit)}<br><sub>${fmt(s.min, w.unit)}–${fmt(s.max, w.unit)}</sub>` : '-';
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
  const mem = r.rounds.at(-1)?.memory ?? {};
  for (const [id, m] of Object.entries(mem)) {
    lines.push(`Memory of ${id} after the workloads: QEMU RSS ${Math.round(m.qemuRssKiB / 1024)} MiB, virtiofsd RSS ${Math.round(m.helperRssKiB / 1024)} MiB; guest ${Math.round((m.guestMemTotalKiB - m.guestMemAvailableKiB) / 1024)} of ${Math.round(m.guestMemTotalKiB / 1024)} MiB in use, agent RSS ${Math.round(m.agentRssKiB / 1024)} MiB.`);
  }
  return `${lines.join('\n')}\n`;
}

export function ioBenchSvg(r: IoBenchResult): string {
  const paths = PATH_IDS.filter((p) => p !== 'host' && r.workloads.some((w) => w.paths[p]));
  const groups = r.workloads.map((w) => ({
    label: w.id,
    bars: paths.flatMap((p) => {
      const x = speedup(w, p, 'host');
      return x === undefined ? [] : [{ series: PATH_LABELS[p], value: x }];
    }),
  }));
  return barChart(`Speed relative to host-native (1 = as fast; higher is better; ${String(r.setup.accel ?? '').toUpperCase()})`, '×', groups, { log: true });
}
