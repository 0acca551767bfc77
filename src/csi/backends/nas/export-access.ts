// How the controller reaches an export to make, remove and archive volume folders. Two ways: a local folder
// that IS the export (the embedded server's folder, or a NAS mounted by the operator), configured with
// `--nas-local-path server:/share=/local/dir`; or mounting the export over NFS for each operation.
import { createHash } from 'node:crypto';
import { invalidArgument } from '../../../common/errors.js';
import type { FsUsage } from '../../host/mounter.js';
import { exportPathProblem, trimTrailingSlashes } from './nas-paths.js';
import { SERVER_PATTERN } from './nas-volume-id.js';

export interface ExportAccess {
  /** For messages: where the export is reached. */
  readonly description: string;
  /** Creates the folder and missing parents, each with exactly `mode`; an existing folder is left as it is. */
  ensureDir(subDir: string, mode: number): Promise<void>;
  /** Removes the folder and all it holds; missing is fine; refuses the export itself and paths that escape it. */
  removeDir(subDir: string): Promise<void>;
  /** Renames the folder to `archiveName` in the export's root; missing is fine. */
  archiveDir(subDir: string, archiveName: string): Promise<void>;
  exists(subDir: string): Promise<boolean>;
  usage(): Promise<FsUsage>;
  /** Small records passvol keeps beside the volumes, in `.passvol-volumes/` at the export root. */
  readMeta(key: string): Promise<string | undefined>;
  writeMeta(key: string, data: string): Promise<void>;
  removeMeta(key: string): Promise<void>;
}

export const META_DIR = '.passvol-volumes';

/** Finds the access for one export (server and share). */
export interface ExportLocator {
  forExport(server: string, share: string): ExportAccess;
}

/** `archived-<subDir with / as ->-<UTC time>`, shortened with a hash when it would pass NAME_MAX. */
export function archiveNameFor(subDir: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const flat = subDir.replace(/\//g, '-');
  const name = `archived-${flat}-${stamp}`;
  if (Buffer.byteLength(name) <= 255) return name;
  const hash = createHash('sha256').update(subDir).digest('hex').slice(0, 12);
  return `archived-${Buffer.from(flat).subarray(0, 200).toString('utf8').replace(/\uFFFD+$/, '')}-${hash}-${stamp}`;
}

export interface LocalPathMapping {
  server: string;
  share: string;
  localDir: string;
}

/** Parses one `--nas-local-path` value: `server:/share=/local/dir` (IPv6 servers in brackets). */
export function parseLocalPathMapping(spec: string): LocalPathMapping {
  const flag = '--nas-local-path';
  const eq = spec.indexOf('=');
  const sep = spec.indexOf(':/');
  if (eq < 0 || sep < 0 || sep > eq) throw invalidArgument(`${flag} "${spec}" must look like server:/share=/local/dir`);
  const server = spec.slice(0, sep);
  const share = trimTrailingSlashes(spec.slice(sep + 1, eq));
  const localDir = trimTrailingSlashes(spec.slice(eq + 1));
  if (!SERVER_PATTERN.test(server)) throw invalidArgument(`${flag} "${spec}": server "${server}" must be a host name, an IPv4 address or a [bracketed] IPv6 address`);
  const shareWhy = exportPathProblem(share);
  if (shareWhy) throw invalidArgument(`${flag} "${spec}": share "${share}" ${shareWhy}`);
  const dirWhy = exportPathProblem(localDir);
  if (dirWhy) throw invalidArgument(`${flag} "${spec}": local folder "${localDir}" ${dirWhy}`);
  return { server, share, localDir };
}

/**
 * Picks the access for an export: a configured local folder when one covers it (a mapping of `/export`
 * also covers `/export/team-a`), else the fallback (mounting over NFS). One instance per export.
 */
export class ExportAccessResolver implements ExportLocator {
  private readonly cache = new Map<string, ExportAccess>();

  constructor(
    private readonly mappings: readonly LocalPathMapping[],
    private readonly local: (localDir: string, description: string) => ExportAccess,
    private readonly fallback: (server: string, share: string) => ExportAccess,
  ) {}

  forExport(server: string, share: string): ExportAccess {
    const key = `${server.toLowerCase()}:${share}`;
    let access = this.cache.get(key);
    if (!access) {
      const m = this.bestMapping(server, share);
      if (m) {
        const rest = share === m.share ? '' : share.slice(m.share === '/' ? 0 : m.share.length);
        access = this.local(`${m.localDir === '/' ? '' : m.localDir}${rest}` || '/', `local folder for ${server}:${share}`);
      } else {
        access = this.fallback(server, share);
      }
      this.cache.set(key, access);
    }
    return access;
  }

  /** The export through a configured local folder only; undefined when reaching it would need a mount. */
  localFor(server: string, share: string): ExportAccess | undefined {
    return this.bestMapping(server, share) ? this.forExport(server, share) : undefined;
  }

  private bestMapping(server: string, share: string): LocalPathMapping | undefined {
    const covers = (m: LocalPathMapping) => m.share === share || m.share === '/' || share.startsWith(`${m.share}/`);
    return this.mappings
      .filter((m) => m.server.toLowerCase() === server.toLowerCase() && covers(m))
      .sort((a, b) => b.share.length - a.share.length)[0];
  }
}
