// An export reached by mounting it over NFS into a private folder for the length of one operation (as
// csi-driver-nfs's controller does). This needs the host kernel's NFS client; where there is none, the
// error says so and points at --nas-local-path. (Debian's user-space client, libnfs-utils, only has
// nfs-ls, nfs-cat and nfs-cp: it cannot make, remove or rename folders, so it is no way around that.)
import { mkdir, mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errnoCode, failedPrecondition } from '../../../common/errors.js';
import type { Exec } from '../../../common/exec.js';
import type { Logger } from '../../../common/logger.js';
import { Mounter, type FsUsage } from '../../host/mounter.js';
import type { ExportAccess } from './export-access.js';
import { LocalExportAccess } from './local-export-access.js';
import { fstypeOf, nfsMountOptions, type NfsVersion } from './nfs-options.js';

export interface MountedExportAccessOptions {
  server: string;
  share: string;
  nfsVersion: NfsVersion;
  /** StorageClass-style comma list on top of the version's defaults. */
  mountOptions?: string;
  exec: Exec;
  /** Where the private mount folders go (created 0700). */
  mountRoot?: string;
  logger?: Logger;
}

/** What mount prints when the kernel has no NFS client (with and without nfs-common's mount.nfs). */
const NO_CLIENT = /unknown filesystem type|No such device/i;

export class MountedExportAccess implements ExportAccess {
  readonly description: string;
  private readonly mounter: Mounter;

  constructor(private readonly options: MountedExportAccessOptions) {
    this.description = `NFS export ${options.server}:${options.share}`;
    this.mounter = new Mounter(options.exec);
  }

  private async withMount<T>(fn: (local: ExportAccess) => Promise<T>): Promise<T> {
    const o = this.options;
    const mountRoot = o.mountRoot ?? join(tmpdir(), 'passvol-nas-controller');
    await mkdir(mountRoot, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(mountRoot, 'export-'));
    try {
      await this.mounter.mount(`${o.server}:${o.share}`, dir, fstypeOf(o.nfsVersion), nfsMountOptions(o.nfsVersion, o.mountOptions));
    } catch (e) {
      await rmdir(dir).catch(() => undefined);
      throw this.explainMountFailure(e);
    }
    try {
      return await fn(new LocalExportAccess(dir, this.description));
    } finally {
      await this.release(dir);
    }
  }

  private explainMountFailure(e: unknown): unknown {
    const message = e instanceof Error ? e.message : String(e);
    if (!NO_CLIENT.test(message)) return e;
    return failedPrecondition(
      `this host has no NFS client (mounting ${this.options.server}:${this.options.share} failed: ${message.split('\n').pop()?.trim()}); ` +
        `configure --nas-local-path ${this.options.server}:${this.options.share}=/local/dir with a folder that is this export`,
    );
  }

  /** Unmounts and removes the private folder; a folder still mounted is left (rmdir would fail) and logged. */
  private async release(dir: string): Promise<void> {
    try {
      await this.mounter.unmount(dir);
      await rmdir(dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      this.options.logger?.warn({ err: e, dir }, 'could not release the controller mount of a NAS export');
    }
  }

  ensureDir(subDir: string, mode: number): Promise<void> {
    return this.withMount((l) => l.ensureDir(subDir, mode));
  }
  removeDir(subDir: string): Promise<void> {
    return this.withMount((l) => l.removeDir(subDir));
  }
  archiveDir(subDir: string, archiveName: string): Promise<void> {
    return this.withMount((l) => l.archiveDir(subDir, archiveName));
  }
  exists(subDir: string): Promise<boolean> {
    return this.withMount((l) => l.exists(subDir));
  }
  readMeta(key: string): Promise<string | undefined> {
    return this.withMount((l) => l.readMeta(key));
  }
  writeMeta(key: string, data: string): Promise<void> {
    return this.withMount((l) => l.writeMeta(key, data));
  }
  removeMeta(key: string): Promise<void> {
    return this.withMount((l) => l.removeMeta(key));
  }
  usage(): Promise<FsUsage> {
    return this.withMount((l) => l.usage());
  }
}
