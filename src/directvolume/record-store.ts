// The direct-volume record store: one directory per volume path under a root, byte-compatible with Kata.
//
// Crash safety: nothing is ever written in place. A new record directory is built in a staging folder and
// renamed into the root in one step; an update renames a complete temp file over mountInfo.json; a removal
// renames the directory out of the root before deleting it. The staging folder sits in the root (same
// filesystem, so renames are atomic) rather than in the record directory, because Kata readers take any
// entry other than mountInfo.json there as the sandbox id.
//
// The root is a local folder (a tmpfs under /run in production) and a record is a few hundred bytes, so each
// operation makes its system calls back to back, synchronously: microseconds, where a trip through libuv's
// thread pool for each of them cost the CSI driver most of a publish. It also means that within one process no
// two store operations interleave; other processes are raced against as before.
import { type Stats, chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassvolError, errnoCode, failedPrecondition, notFound } from '../common/errors.js';
import { fsyncDirSync, mkdirDurablySync, writeNewFileDurablySync } from '../common/durable-fs.js';
import { pidAlive } from '../common/processes.js';
import { decodeVolumeDirName, encodeVolumeDirName } from './volume-dir-name.js';
import { MOUNT_INFO_FILE, type MountInfo, marshalMountInfo, parseMountInfo, validateMountInfo } from './mount-info.js';
import { isValidSandboxId, validateSandboxId } from './sandbox-id.js';

export const DEFAULT_DIRECT_VOLUME_ROOT = '/run/kata-containers/shared/direct-volumes';
/** The environment variable other Kata-aware drivers honour for the root. */
export const DIRECT_VOLUME_ROOT_ENV = 'KATA_DIRECT_VOLUME_ROOT_PATH';
export const STAGING_DIR = '.passvol-staging';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/** Staging entries of a dead process, or older than this, are leftovers of a crash. */
const STALE_STAGING_MS = 10 * 60 * 1000;

export interface DirectVolumeRecord {
  readonly volumePath: string;
  readonly dirName: string;
  readonly mountInfo: MountInfo;
  /** The exact bytes of mountInfo.json. */
  readonly raw: string;
  readonly sandboxId: string | undefined;
}

export interface ListedRecord {
  readonly dirName: string;
  readonly volumePath: string | undefined;
  readonly record: DirectVolumeRecord | undefined;
  /** Why this entry is not a usable record (corrupt JSON, bad name, unexpected files). */
  readonly problem: string | undefined;
}

export function resolveDirectVolumeRoot(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env[DIRECT_VOLUME_ROOT_ENV] ?? DEFAULT_DIRECT_VOLUME_ROOT;
}

/** What a record directory holds, sorted as Go's os.ReadDir sorts. */
interface DirContents {
  hasMountInfo: boolean;
  sandboxIds: string[];
  unexpected: string[];
}

export class RecordStore {
  private seq = 0;

  constructor(readonly root: string) {}

  dirOf(volumePath: string): string {
    return join(this.root, encodeVolumeDirName(volumePath));
  }

  /**
   * Adds or replaces the record for a volume path. Text is validated and written byte for byte (as Kata's
   * `add` does); an object is written as Kata's Go runtime would marshal it.
   */
  async add(volumePath: string, mountInfo: string | MountInfo): Promise<DirectVolumeRecord> {
    const dir = this.dirOf(volumePath);
    const raw = typeof mountInfo === 'string' ? mountInfo : marshalMountInfo(validateMountInfo(mountInfo));
    const parsed = typeof mountInfo === 'string' ? parseMountInfo(mountInfo) : parseMountInfo(raw);
    this.ensureRoot();
    for (let attempt = 0; ; attempt++) {
      const contents = this.contentsOf(dir);
      if (contents === undefined) {
        if (this.createRecordDir(dir, raw)) break;
      } else {
        this.refuseUnexpected(volumePath, contents);
        if (this.replaceMountInfo(dir, raw)) break;
      }
      // Lost a race with a concurrent add or remove of the same path: look again.
      if (attempt > 100) throw new PassvolError('PV_ERR_VOLUME_BUSY', `record for ${volumePath} keeps changing; retry`);
    }
    return { volumePath, dirName: encodeVolumeDirName(volumePath), mountInfo: parsed, raw, sandboxId: this.contentsOf(dir)?.sandboxIds[0] };
  }

  /** Removes the record; a missing record is not an error. Returns whether one was removed. */
  async remove(volumePath: string): Promise<boolean> {
    const dir = this.dirOf(volumePath);
    const contents = this.contentsOf(dir);
    if (contents === undefined) return false;
    this.refuseUnexpected(volumePath, contents);
    const graveyard = this.stagingPath('removed');
    mkdirDurablySync(join(this.root, STAGING_DIR), DIR_MODE);
    try {
      renameSync(dir, graveyard);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return false;
      throw e;
    }
    fsyncDirSync(this.root);
    rmSync(graveyard, { recursive: true, force: true });
    return true;
  }

  async find(volumePath: string): Promise<DirectVolumeRecord | undefined> {
    const dir = this.dirOf(volumePath);
    let raw: string;
    try {
      raw = readFileSync(join(dir, MOUNT_INFO_FILE), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw e;
    }
    let mountInfo: MountInfo;
    try {
      mountInfo = parseMountInfo(raw);
    } catch (e) {
      throw new PassvolError('PV_ERR_CORRUPT_RECORD', `record for ${volumePath} is corrupt: ${(e as Error).message}`);
    }
    const contents = this.contentsOf(dir);
    return { volumePath, dirName: encodeVolumeDirName(volumePath), mountInfo, raw, sandboxId: contents?.sandboxIds[0] };
  }

  async get(volumePath: string): Promise<DirectVolumeRecord> {
    const record = await this.find(volumePath);
    if (!record) throw notFound(`no direct-volume record for ${volumePath} under ${this.root}`);
    return record;
  }

  /** Every entry of the root: records with their binding, and what is wrong with the ones that are not. */
  async list(): Promise<ListedRecord[]> {
    let names: string[];
    try {
      names = readdirSync(this.root).sort();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
    const out: ListedRecord[] = [];
    for (const dirName of names) {
      if (dirName.startsWith('.')) continue;
      const volumePath = decodeVolumeDirName(dirName);
      if (volumePath === undefined) {
        out.push({ dirName, volumePath, record: undefined, problem: 'name is not the URL-safe base64 of an absolute path' });
        continue;
      }
      try {
        const contents = this.contentsOf(join(this.root, dirName));
        if (contents === undefined || !contents.hasMountInfo) {
          out.push({ dirName, volumePath, record: undefined, problem: 'no mountInfo.json' });
          continue;
        }
        const record = await this.find(volumePath);
        const problem = contents.unexpected.length > 0 ? `unexpected entries: ${contents.unexpected.join(', ')}` : undefined;
        out.push({ dirName, volumePath, record, problem });
      } catch (e) {
        out.push({ dirName, volumePath, record: undefined, problem: (e as Error).message });
      }
    }
    return out;
  }

  /** The sandbox using the volume: the first entry (sorted) that is not mountInfo.json, as Kata reads it. */
  async sandboxOf(volumePath: string): Promise<string | undefined> {
    return (this.contentsOf(this.dirOf(volumePath)))?.sandboxIds[0];
  }

  /**
   * Binds the volume to a sandbox (an empty file named by its id). Refuses when another sandbox holds it:
   * the caller decides whether that holder is gone and releases it first.
   */
  async recordSandbox(volumePath: string, sandboxId: string): Promise<void> {
    validateSandboxId(sandboxId);
    const dir = this.dirOf(volumePath);
    const contents = this.contentsOf(dir);
    if (!contents?.hasMountInfo) throw notFound(`no direct-volume record for ${volumePath}: add it before binding a sandbox`);
    const other = contents.sandboxIds.find((id) => id !== sandboxId);
    if (other !== undefined) throw this.heldBy(volumePath, other);
    if (contents.sandboxIds.includes(sandboxId)) return;
    try {
      writeNewFileDurablySync(join(dir, sandboxId), '', FILE_MODE);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    fsyncDirSync(dir);
    // Two sandboxes may have raced past the check above: then both back off, which is safe.
    const after = this.contentsOf(dir);
    const rival = after?.sandboxIds.find((id) => id !== sandboxId);
    if (rival !== undefined) {
      unlinkQuietly(join(dir, sandboxId));
      throw this.heldBy(volumePath, rival);
    }
  }

  /** Drops a sandbox binding; missing binding or record is not an error. */
  async releaseSandbox(volumePath: string, sandboxId: string): Promise<void> {
    validateSandboxId(sandboxId);
    const dir = this.dirOf(volumePath);
    try {
      unlinkSync(join(dir, sandboxId));
      fsyncDirSync(dir);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw e;
    }
  }

  /** Removes staging leftovers of writers that crashed. Returns how many were removed. */
  async sweepStaging(now = Date.now()): Promise<number> {
    const staging = join(this.root, STAGING_DIR);
    let names: string[];
    try {
      names = readdirSync(staging);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return 0;
      throw e;
    }
    let removed = 0;
    for (const name of names) {
      const pid = Number(name.split('-')[1]);
      const st = lstatQuietly(join(staging, name));
      if (!st) continue;
      if (pidAlive(pid) && now - st.mtimeMs < STALE_STAGING_MS) continue;
      rmSync(join(staging, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  private heldBy(volumePath: string, sandboxId: string): PassvolError {
    return failedPrecondition(
      `volume ${volumePath} is in use by sandbox ${sandboxId}: a passed-through volume serves one sandbox at a time; ` +
        'stop that sandbox first',
    );
  }

  private refuseUnexpected(volumePath: string, contents: DirContents): void {
    if (contents.unexpected.length === 0) return;
    throw new PassvolError(
      'PV_ERR_UNEXPECTED_CONTENT',
      `record directory of ${volumePath} holds entries passvol did not write (${contents.unexpected.join(', ')}); ` +
        'inspect and remove them by hand, nothing was changed',
    );
  }

  private ensureRoot(): void {
    mkdirDurablySync(join(this.root, STAGING_DIR), DIR_MODE);
  }

  private stagingPath(kind: string): string {
    return join(this.root, STAGING_DIR, `${kind}-${process.pid}-${++this.seq}-${randomBytes(4).toString('hex')}`);
  }

  /** A fresh record: build the whole directory in staging, then rename it into place. */
  private createRecordDir(dir: string, raw: string): boolean {
    const tmp = this.stagingPath('new');
    // Only the rename into the root must be durable: the temp dir's own entry in staging need not be.
    mkdirSync(tmp, { mode: DIR_MODE });
    chmodSync(tmp, DIR_MODE);
    writeNewFileDurablySync(join(tmp, MOUNT_INFO_FILE), raw, FILE_MODE);
    fsyncDirSync(tmp);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      if (errnoCode(e) === 'EEXIST' || errnoCode(e) === 'ENOTEMPTY') return false;
      throw e;
    }
    fsyncDirSync(this.root);
    return true;
  }

  /** An existing record: rename a complete temp file over mountInfo.json. */
  private replaceMountInfo(dir: string, raw: string): boolean {
    const tmp = this.stagingPath('file');
    writeNewFileDurablySync(tmp, raw, FILE_MODE);
    try {
      renameSync(tmp, join(dir, MOUNT_INFO_FILE));
    } catch (e) {
      rmSync(tmp, { force: true });
      if (errnoCode(e) === 'ENOENT') return false;
      throw e;
    }
    fsyncDirSync(dir);
    return true;
  }

  /** undefined when the directory does not exist; throws when the path is not a directory. */
  private contentsOf(dir: string): DirContents | undefined {
    let st;
    try {
      st = lstatSync(dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    if (!st.isDirectory()) {
      throw new PassvolError('PV_ERR_UNEXPECTED_CONTENT', `${dir} is not a directory; inspect and remove it by hand`);
    }
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const out: DirContents = { hasMountInfo: false, sandboxIds: [], unexpected: [] };
    for (const entry of entries) {
      if (entry.name === MOUNT_INFO_FILE && entry.isFile()) out.hasMountInfo = true;
      else if (entry.isFile() && isValidSandboxId(entry.name)) out.sandboxIds.push(entry.name);
      else out.unexpected.push(entry.name);
    }
    return out;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function lstatQuietly(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined; // gone meanwhile, or not ours to judge: left for the next sweep
  }
}
