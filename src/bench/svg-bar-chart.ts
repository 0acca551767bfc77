// A grouped horizontal bar chart as a self-contained SVG, readable at a glance in a README.
export interface BarGroup {
  label: string;
  bars: { series: string; value: number; note?: string }[];
}

const COLOURS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#c53030', '#718096'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChart(title: string, unit: string, groups: readonly BarGroup[], options: { log?: boolean } = {}): string {
  const series = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.value)), 1e-9);
  const scale = (v: number) => (options.log ? Math.log10(1 + v) / Math.log10(1 + max) : v / max);
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
  const legend = series.map((s, i) => `<rect x="${left + i * 170}" y="30" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/><text x="${left + i * 170 + 16}" y="40" font-size="12">${esc(s)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="20" font-size="15" font-weight="700">${esc(title)}</text>
${legend.join('\n')}
${parts.join('\n')}
</svg>
`;
}

function fmt(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
