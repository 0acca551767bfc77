// The README's benchmark table, generated from the results so it cannot drift from them: a compact view of
// io.md (medians only, the passed-through disk's ratios to virtio-fs and 9p), between two marker lines
// that `passvol bench report --readme README.md` rewrites.
import type { IoBenchResult } from './io-bench.js';
import { PATH_IDS, PATH_LABELS } from './io-environment.js';
import { fmtValue, speedup } from './io-report.js';
import { round } from './stats.js';

export const IO_TABLE_START = '<!-- io table: written by `passvol bench report --readme README.md` from bench/results/io.json -->';
export const IO_TABLE_END = '<!-- end of io table -->';

const ratio = (x: number | undefined) => (x === undefined ? '-' : `${round(x, 2).toFixed(2)}×`);

export function ioReadmeTable(r: IoBenchResult): string {
  const paths = PATH_IDS.filter((p) => r.workloads.some((w) => w.paths[p]));
  const lines = [
    `| workload | ${paths.map((p) => PATH_LABELS[p]).join(' | ')} | disk vs virtio-fs | disk vs 9p |`,
    `|---|${paths.map(() => '---:').join('|')}|---:|---:|`,
  ];
  for (const w of r.workloads) {
    const cells = paths.map((p) => {
      const s = w.paths[p]?.summary;
      return s ? fmtValue(s.median, w.unit) : '-';
    });
    lines.push(`| ${w.label} (${w.unit}) | ${cells.join(' | ')} | ${ratio(speedup(w, 'blk', 'virtiofs'))} | ${ratio(speedup(w, 'blk', '9p'))} |`);
  }
  lines.push('', `Measured ${r.startedAt.slice(0, 10)}, ${r.params.rounds} rounds, ${String(r.setup.accel ?? 'unknown').toUpperCase()}.`);
  return lines.join('\n');
}

/** `text` with what lies between the two marker lines replaced by `body`; refuses a text without them. */
export function replaceBetween(text: string, start: string, end: string, body: string): string {
  const a = text.indexOf(start);
  const b = text.indexOf(end, a + start.length);
  if (a === -1 || b === -1) throw new Error(`the markers are missing: put the lines\n${start}\n${end}\nwhere the table goes`);
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

/** The block between the markers, as it stands. */
export function between(text: string, start: string, end: string): string | undefined {
  const a = text.indexOf(start);
  const b = text.indexOf(end, a + start.length);
  return a === -1 || b === -1 ? undefined : text.slice(a + start.length + 1, b - 1);
}
