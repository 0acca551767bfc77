// Small helpers for writes that survive a crash: fsync of files and of the directories that name them.
import { open, mkdir, chmod } from 'node:fs/promises';
import { chmodSync, closeSync, constants, fchmodSync, fsyncSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** fsync a directory so a rename or create inside it is on disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a new file with an exact mode (umask does not apply) and fsyncs it. Fails if it exists. */
export async function writeNewFileDurably(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkdir -p where every directory created gets exactly `mode`; fsyncs each parent that gained an entry. */
export async function mkdirDurably(path: string, mode: number): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  // Walk from the deepest created directory up to the first one created, fixing modes and syncing parents.
  let dir = path;
  for (;;) {
    await chmod(dir, mode);
    await fsyncDir(dirname(dir));
    if (dir === first) break;
    dir = dirname(dir);
  }
}

// The same, for callers whose files are small and local (the record store): the system calls run back to back
// on the calling thread instead of one thread-pool trip each.

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeNewFileDurablySync(path: string, data: string | Uint8Array, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    fchmodSync(fd, mode);
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function mkdirDurablySync(path: string, mode: number): void {
  const first = mkdirSync(path, { recursive: true, mode });
  if (first === undefined) return;
  for (let dir = path; ; dir = dirname(dir)) {
    chmodSync(dir, mode);
    fsyncDirSync(dirname(dir));
    if (dir === first) break;
  }
}
