// An export reached as a local folder. NFS clients can create symbolic links anywhere they may write, so
// every operation first proves the path stays inside the export: the real path of each existing ancestor
// must be the path we built, which fails as soon as any component is a link. (A client racing us between
// the check and the call is not covered; the controller runs with the export's owner's rights.)
import { lstat, readFile, realpath, rename, rm, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode, failedPrecondition, invalidArgument, type PassvolError } from '../../../common/errors.js';
import { fsyncDir, mkdirDurably } from '../../../common/durable-fs.js';
import type { FsUsage } from '../../host/mounter.js';
import { writeJsonDurably } from '../../../common/durable-json.js';
import { META_DIR, type ExportAccess } from './export-access.js';
import { subDirProblem } from './nas-paths.js';

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

export class LocalExportAccess implements ExportAccess {
  readonly description: string;
  private rootPromise: Promise<string> | undefined;

  constructor(
    private readonly localRoot: string,
    description?: string,
  ) {
    this.description = description ? `${description} (${localRoot})` : `local folder ${localRoot}`;
  }

  /** The export's real path; it must exist: passvol never creates the export itself. */
  private root(): Promise<string> {
    this.rootPromise ??= (async () => {
      const real = await realpath(this.localRoot).catch((e: unknown) => {
        throw failedPrecondition(`the export folder ${this.localRoot} is not usable (${errnoCode(e) ?? String(e)}); check --nas-local-path`);
      });
      if (!(await lstat(real)).isDirectory()) throw failedPrecondition(`the export folder ${this.localRoot} is not a directory; check --nas-local-path`);
      return real;
    })();
    this.rootPromise.catch(() => (this.rootPromise = undefined));
    return this.rootPromise;
  }

  /** The folder's path, after proving every existing ancestor below the root is a real directory. */
  private async pathOf(subDir: string): Promise<{ root: string; path: string }> {
    const why = subDirProblem(subDir, false);
    if (why) throw invalidArgument(`volume folder "${subDir}" ${why}`);
    const root = await this.root();
    let dir = root;
    for (const segment of subDir.split('/').slice(0, -1)) {
      dir = join(dir, segment);
      const st = await lstatOrUndefined(dir);
      if (!st) break;
      if (!st.isDirectory()) throw this.escape(subDir, `${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}`);
      if ((await realpath(dir)) !== dir) throw this.escape(subDir, `${dir} resolves elsewhere`);
    }
    return { root, path: join(root, subDir) };
  }

  private escape(subDir: string, detail: string): PassvolError {
    return failedPrecondition(`volume folder "${subDir}" in ${this.description} is refused: ${detail}; passvol does not follow links inside an export`);
  }

  async ensureDir(subDir: string, mode: number): Promise<void> {
    const { path } = await this.pathOf(subDir);
    const st = await lstatOrUndefined(path);
    if (st?.isDirectory()) return;
    if (st) throw failedPrecondition(`volume folder "${subDir}" in ${this.description} exists but is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; remove it or use another subDir`);
    await mkdirDurably(path, mode);
  }

  async removeDir(subDir: string): Promise<void> {
    const { path } = await this.pathOf(subDir);
    if (!(await lstatOrUndefined(path))) return;
    // fs.rm does not follow links (it lstats each entry), so a link inside the folder loses only the link.
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
    await fsyncDir(dirname(path));
  }

  async archiveDir(subDir: string, archiveName: string): Promise<void> {
    if (archiveName.includes('/') || subDirProblem(archiveName, false)) throw invalidArgument(`archive name "${archiveName}" must be one plain folder name`);
    const { root, path } = await this.pathOf(subDir);
    if (!(await lstatOrUndefined(path))) return;
    const target = join(root, archiveName);
    if (await lstatOrUndefined(target)) throw failedPrecondition(`cannot archive "${subDir}": ${target} exists already; retry in a second`);
    await rename(path, target);
    await fsyncDir(root);
    if (dirname(path) !== root) await fsyncDir(dirname(path));
  }

  async exists(subDir: string): Promise<boolean> {
    if (subDir === '') return (await lstatOrUndefined(await this.root()))?.isDirectory() ?? false;
    const { path } = await this.pathOf(subDir);
    return (await lstatOrUndefined(path))?.isDirectory() ?? false;
  }

  private async metaPath(key: string): Promise<string> {
    if (!/^[0-9a-f]{16,64}$/.test(key)) throw invalidArgument(`metadata key "${key}" is not a hex digest`);
    const dir = join(await this.root(), META_DIR);
    const st = await lstatOrUndefined(dir);
    if (st && !st.isDirectory()) throw this.escape(META_DIR, `${dir} is not a directory`);
    if (!st) await mkdirDurably(dir, 0o700);
    return join(dir, `${key}.json`);
  }

  async readMeta(key: string): Promise<string | undefined> {
    try {
      return await readFile(await this.metaPath(key), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  async writeMeta(key: string, data: string): Promise<void> {
    await writeJsonDurably(await this.metaPath(key), JSON.parse(data));
  }

  async removeMeta(key: string): Promise<void> {
    await rm(await this.metaPath(key), { force: true });
  }

  async usage(): Promise<FsUsage> {
    const s = await statfs(await this.root());
    return {
      totalBytes: s.blocks * s.bsize,
      availableBytes: s.bavail * s.bsize,
      usedBytes: (s.blocks - s.bfree) * s.bsize,
      totalInodes: s.files,
      freeInodes: s.ffree,
      usedInodes: s.files - s.ffree,
    };
  }
}
