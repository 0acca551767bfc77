import type { Logger } from '../../common/logger.js';
import type { ControllerBackend } from '../backends/backend.js';
import type { DriverConfig } from '../driver-config.js';
import type { ClusterFacts } from '../passthrough/cluster-facts.js';
import type { VolumeLocks } from '../volume-locks.js';

export interface ControllerContext {
  config: DriverConfig;
  backend: ControllerBackend;
  cluster: ClusterFacts;
  locks: VolumeLocks;
  log: Logger;
}
