// Reads /proc/self/mountinfo: which filesystem is mounted where, from which device (major:minor).
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  readonly majMin: string;
  readonly mountPoint: string;
  readonly fstype: string;
  readonly source: string;
  readonly options: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    if (l.length < 6 || r.length < 2) continue;
    entries.push({
      majMin: l[2] ?? '',
      mountPoint: unescape(l[4] ?? ''),
      options: l[5] ?? '',
      fstype: r[0] ?? '',
      source: unescape(r[1] ?? ''),
    });
  }
  return entries;
}

export async function readMountTable(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The topmost mount at exactly `mountPoint`, if any. */
export async function mountAt(mountPoint: string): Promise<MountEntry | undefined> {
  const all = await readMountTable();
  return all.filter((m) => m.mountPoint === mountPoint).at(-1);
}

/** Mount points equal to or under `dir`, deepest first (the order to unmount them in). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const all = await readMountTable();
  const points = all.map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}
