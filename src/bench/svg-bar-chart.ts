// A grouped horizontal bar chart as a self-contained SVG, readable at a glance in a README.
export interface BarGroup {
  label: string;
  bars: { series: string; value: number; note?: string }[];
}

const COLOURS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#c53030', '#718096'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChart(title: string, unit: string, groups: readonly BarGroup[]): string {
  const series = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.value)), 1e-9);
  const scale = (v: number) => v / max;
  const left = 210;
  const width = 860;
  const barH = 16;
  const plotW = width - left - 120;
  let y = 58;
  const parts: string[] = [];
  for (const g of groups) {
    parts.push(`<text x="8" y="${y + barH * 0.8}" font-size="13" font-weight="600">${esc(g.label)}</text>`);
    for (const b of g.bars) {
      const w = Math.max(1, scale(b.value) * plotW);
      const c = COLOURS[series.indexOf(b.series) % COLOURS.length];
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 3}" fill="${c}"/>`);
      parts.push(`<text x="${left + w + 6}" y="${y + barH * 0.72}" font-size="11">${esc(`${fmt(b.value)} ${unit}${b.note ? ` ${b.note}` : ''}`)}</text>`);
      y += barH;
    }
    y += 10;
  }
  return frame(title, series, { left, step: 170, width, height: y + 10 }, parts);
}

/** The white page, the title and the legend around a chart's own elements. */
function frame(title: string, series: readonly string[], at: { left: number; step: number; width: number; height: number }, body: readonly string[]): string {
  const legend = series.map((s, i) => {
    const x = at.left + i * at.step;
    return `<rect x="${x}" y="30" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/><text x="${x + 16}" y="40" font-size="12">${esc(s)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${at.width}" height="${at.height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="20" font-size="15" font-weight="700">${esc(title)}</text>
${[...legend, ...body].join('\n')}
</svg>
`;
}

/** Two significant digits below 10, so 0.004 does not print as 0.00. */
function fmt(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  if (v >= 0.1) return v.toFixed(2);
  return v.toPrecision(2);
}

/**
 * Ratios on a true log axis around a 1× line: a bar right of the line is a win (times faster), left of it a
 * loss. Decade ticks (0.01×, 0.1×, 1×, 10×, ...) let a reader compare 0.4× and 59× at a glance.
 */
export function ratioChart(title: string, groups: readonly BarGroup[], caption: string): string {
  const series = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0);
  const lo = Math.min(-1, Math.floor(Math.log10(Math.min(...values, 1))));
  const hi = Math.max(1, Math.ceil(Math.log10(Math.max(...values, 1))));
  const left = 150;
  const width = 860;
  const plotW = width - left - 90;
  const barH = 16;
  const x = (v: number) => left + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  const one = x(1);
  const top = 58;
  let y = top + 14;
  const parts: string[] = [];
  for (const g of groups) {
    parts.push(`<text x="8" y="${y + barH * 0.8}" font-size="13" font-weight="600">${esc(g.label)}</text>`);
    for (const b of g.bars) {
      const end = x(Math.min(Math.max(b.value, 10 ** lo), 10 ** hi));
      const c = COLOURS[series.indexOf(b.series) % COLOURS.length];
      const [from, to] = end >= one ? [one, end] : [end, one];
      parts.push(`<rect x="${from.toFixed(1)}" y="${y}" width="${Math.max(1, to - from).toFixed(1)}" height="${barH - 3}" fill="${c}"/>`);
      const label = `${fmt(b.value)}×`;
      parts.push(end >= one
        ? `<text x="${(end + 5).toFixed(1)}" y="${y + barH * 0.72}" font-size="11">${esc(label)}</text>`
        : `<text x="${(end - 5).toFixed(1)}" y="${y + barH * 0.72}" font-size="11" text-anchor="end">${esc(label)}</text>`);
      y += barH;
    }
    y += 10;
  }
  const ticks: string[] = [];
  for (let d = lo; d <= hi; d++) {
    const tx = x(10 ** d).toFixed(1);
    ticks.push(`<line x1="${tx}" y1="${top}" x2="${tx}" y2="${y}" stroke="${d === 0 ? '#222' : '#ddd'}" stroke-width="${d === 0 ? 1.5 : 1}"/>`);
    const decade = d < 0 ? `0.${'0'.repeat(-d - 1)}1` : (10 ** d).toLocaleString('en-US');
    ticks.push(`<text x="${tx}" y="${top - 2}" font-size="10" text-anchor="middle">${decade}×</text>`);
  }
  const captionText = `<text x="8" y="${y + 16}" font-size="11" fill="#444">${esc(caption)}</text>`;
  return frame(title, series, { left, step: 190, width, height: y + 28 }, [...ticks, ...parts, captionText]);
}
