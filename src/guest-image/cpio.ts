// A deterministic initramfs archive: cpio "newc" written here rather than by cpio(1), so that entry order
// (sorted paths), owners (0:0), times (fixed) and inode numbers (sequential) never depend on the host.
// Device nodes can be written without privileges, which /dev/console needs.

export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; mode?: number; data: Uint8Array }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'char'; mode?: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function header(fields: { ino: number; mode: number; nlink: number; mtime: number; size: number; rdevMajor: number; rdevMinor: number; nameSize: number }): string {
  return (
    '070701' +
    [fields.ino, fields.mode, 0, 0, fields.nlink, fields.mtime, fields.size, 0, 0, fields.rdevMajor, fields.rdevMinor, fields.nameSize, 0]
      .map(hex8)
      .join('')
  );
}

/** Archive paths are relative ("bin/busybox"); "." and leading "/" are not used. */
export function normalizeCpioPath(path: string): string {
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '' || p.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`bad archive path: "${path}"`);
  }
  return p;
}

export function writeCpio(entries: readonly CpioEntry[], mtime = 0): Buffer {
  const sorted = entries.map((e) => ({ ...e, path: normalizeCpioPath(e.path) })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.path === sorted[i - 1]?.path) throw new Error(`duplicate archive path: ${sorted[i]?.path}`);
  }
  const chunks: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, nlink: number, data: Uint8Array, rdev: [number, number] = [0, 0]): void => {
    const nameBytes = Buffer.from(name + '\0');
    const head = Buffer.from(header({ ino: ino++, mode, nlink, mtime, size: data.length, rdevMajor: rdev[0], rdevMinor: rdev[1], nameSize: nameBytes.length }));
    chunks.push(head, nameBytes, Buffer.alloc(pad4(head.length + nameBytes.length)), Buffer.from(data), Buffer.alloc(pad4(data.length)));
  };
  for (const e of sorted) {
    switch (e.type) {
      case 'dir':
        push(e.path, S_IFDIR | (e.mode ?? 0o755), 2, new Uint8Array());
        break;
      case 'file':
        push(e.path, S_IFREG | (e.mode ?? 0o644), 1, e.data);
        break;
      case 'symlink':
        push(e.path, S_IFLNK | 0o777, 1, Buffer.from(e.target));
        break;
      case 'char':
        push(e.path, S_IFCHR | (e.mode ?? 0o600), 1, new Uint8Array(), [e.major, e.minor]);
        break;
    }
  }
  ino = 0;
  push('TRAILER!!!', 0, 1, new Uint8Array());
  return Buffer.concat(chunks);
}

/** Reads back names, modes and data of a newc archive (tests, and `passvol image` inspection). */
export function readCpio(archive: Buffer): { path: string; mode: number; data: Buffer; rdev: [number, number] }[] {
  const out: { path: string; mode: number; data: Buffer; rdev: [number, number] }[] = [];
  let off = 0;
  for (;;) {
    const head = archive.subarray(off, off + 110).toString('latin1');
    if (!head.startsWith('070701')) throw new Error(`bad cpio magic at ${off}`);
    const field = (i: number): number => parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const nameSize = field(11);
    const size = field(6);
    const name = archive.subarray(off + 110, off + 110 + nameSize - 1).toString('utf8');
    off += 110 + nameSize;
    off += pad4(off);
    const data = archive.subarray(off, off + size);
    off += size + pad4(size);
    if (name === 'TRAILER!!!') return out;
    out.push({ path: name, mode: field(1), data, rdev: [field(9), field(10)] });
  }
}
