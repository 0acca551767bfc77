// Wires the export access the NAS controller uses: the configured local folders first, else a mount over
// NFS (which fails clearly on a host without an NFS client).
import type { Exec } from '../../../common/exec.js';
import type { Logger } from '../../../common/logger.js';
import { ExportAccessResolver, parseLocalPathMapping } from './export-access.js';
import { LocalExportAccess } from './local-export-access.js';
import { MountedExportAccess } from './mounted-export-access.js';
import type { NfsVersion } from './nfs-options.js';

export interface NasExportsConfig {
  /** `--nas-local-path` values: `server:/share=/local/dir`. */
  localPaths: readonly string[];
  exec: Exec;
  /** The version the controller mounts exports with (a delete has only the volume id, not the class). */
  controllerNfsVersion?: NfsVersion;
  mountRoot?: string;
  logger?: Logger;
}

export function createExportResolver(config: NasExportsConfig): ExportAccessResolver {
  const mappings = config.localPaths.map(parseLocalPathMapping);
  return new ExportAccessResolver(
    mappings,
    (localDir, description) => new LocalExportAccess(localDir, description),
    (server, share) =>
      new MountedExportAccess({
        server,
        share,
        nfsVersion: config.controllerNfsVersion ?? '4.1',
        exec: config.exec,
        ...(config.mountRoot ? { mountRoot: config.mountRoot } : {}),
        ...(config.logger ? { logger: config.logger } : {}),
      }),
  );
}
