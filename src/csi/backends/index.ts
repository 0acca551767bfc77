// The kinds of volume this driver serves: one line each.
import { mkdir } from 'node:fs/promises';
import type { Exec } from '../../common/exec.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { MonitorClient, RecordStore } from '../../directvolume/index.js';
import type { DriverConfig } from '../driver-config.js';
import type { ControllerBackend, NodeBackend } from './backend.js';
import { DiskBackend } from './disk/disk-backend.js';
import { LoopPoolProvider } from './disk/loop-pool-provider.js';
import { SandboxFreezer } from './disk/sandbox-freeze.js';
import { NasControllerBackend, NasNodeBackend } from './nas/nas-backend.js';
import { createExportResolver } from './nas/nas-exports.js';

export interface Backends {
  controller: ControllerBackend;
  node: NodeBackend;
  /** Folders the driver must be able to write for Probe to answer ready. */
  readyPaths: string[];
}

export async function createBackends(config: DriverConfig, exec: Exec, logger?: Logger): Promise<Backends> {
  if (config.driver === 'disk') {
    await mkdir(config.diskPoolDir, { recursive: true, mode: 0o700 });
    const provider = new LoopPoolProvider({
      dir: config.diskPoolDir,
      nodeId: config.nodeId,
      exec,
      // Snapshots of disks passed through to sandboxes on this node: their guests freeze for the copy.
      sandboxFreezer: new SandboxFreezer({
        records: new RecordStore(config.directVolumeRoot),
        monitor: new MonitorClient({ goShimRoot: config.goShimRoot, rsShimRoot: config.rsShimRoot }),
        log: logger ?? createLogger({ level: 'silent' }),
      }),
      ...(logger ? { onRecovered: (what: string, details: Record<string, unknown>) => logger.warn(details, what) } : {}),
    });
    await provider.init();
    const backend = new DiskBackend({ provider, nodeId: config.nodeId, maxVolumesPerNode: config.maxVolumesPerNode });
    return { controller: backend, node: backend, readyPaths: [config.diskPoolDir] };
  }
  const exports = createExportResolver({ localPaths: config.nasLocalPaths, exec, ...(logger ? { logger } : {}) });
  return { controller: new NasControllerBackend({ exports, ...(logger ? { logger } : {}) }), node: new NasNodeBackend(exports), readyPaths: [] };
}
