// What every node-side operation needs.
import type { Logger } from '../../common/logger.js';
import type { Exec } from '../../common/exec.js';
import type { MonitorClient, RecordStore } from '../../directvolume/index.js';
import type { NodeBackend } from '../backends/backend.js';
import type { DriverConfig } from '../driver-config.js';
import type { Mounter } from '../host/mounter.js';
import type { ClusterFacts } from '../passthrough/cluster-facts.js';
import type { VolumeLocks } from '../volume-locks.js';

export interface NodeContext {
  config: DriverConfig;
  backend: NodeBackend;
  mounter: Mounter;
  exec: Exec;
  records: RecordStore;
  monitor: MonitorClient;
  cluster: ClusterFacts;
  locks: VolumeLocks;
  log: Logger;
}

/** Metadata keys passvol adds to the records it writes (Kata passes unknown keys through). */
export const RECORD_METADATA = {
  volumeId: 'volumeId',
  driver: 'csiDriver',
  fsGroup: 'fsGroup',
  /** Next to fsGroup on disks only: the guest walks a disk for fsGroup, never an NFS mount. */
  fsGroupChangePolicy: 'fsGroupChangePolicy',
} as const;
