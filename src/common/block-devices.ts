// Host block devices as the kernel numbers and sizes them, for the CSI driver and the runtime alike.
import { readFile, stat } from 'node:fs/promises';

/** "major:minor" of a device number (st_rdev), as mountinfo and sysfs write it. */
export function majorMinor(rdev: number): string {
  return `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;
}

/** Size in bytes of a disk: a block device's from sysfs (always 512-byte sectors), an image file's length. */
export async function diskBytes(path: string): Promise<number> {
  const st = await stat(path);
  if (!st.isBlockDevice()) return st.size;
  const sectors = Number((await readFile(`/sys/dev/block/${majorMinor(st.rdev)}/size`, 'utf8')).trim());
  if (!Number.isSafeInteger(sectors)) throw new Error(`cannot read the size of ${path} from sysfs`);
  return sectors * 512;
}
