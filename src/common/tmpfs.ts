// Whether a folder is on a tmpfs: where passvol wants RAM-speed, reboot-scoped files (direct-volume records,
// VM template RAM) and warns when it gets a disk instead.
import { statfs } from 'node:fs/promises';

const TMPFS_MAGIC = 0x01021994;

/** The filesystem type, in hex, when `path` is not on a tmpfs; undefined when it is (or cannot be read). */
export async function notTmpfs(path: string): Promise<string | undefined> {
  const fs = await statfs(path).catch(() => undefined);
  return fs && fs.type !== TMPFS_MAGIC ? `0x${fs.type.toString(16)}` : undefined;
}
