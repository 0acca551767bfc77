// What every op handler gets: configuration, the ports to the OS, and the agent's state.
import type { Logger } from 'pino';
import type { BlockDevices } from './block-devices.js';
import type { AgentConfig } from './config.js';
import type { ContainerRegistry } from './containers.js';
import type { EventSink } from './event-sink.js';
import type { FilesystemFreezes } from './filesystem-freezes.js';
import type { PathMapper } from './guest-paths.js';
import type { KeyedLock } from './keyed-lock.js';
import type { RunCommand } from './run-command.js';

export interface AgentContext {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly paths: PathMapper;
  readonly devices: BlockDevices;
  readonly run: RunCommand;
  readonly containers: ContainerRegistry;
  readonly events: EventSink;
  readonly locks: KeyedLock;
  /** Guest paths the agent mounted (unmounted again on shutdown). */
  readonly mounted: Set<string>;
  /** Filesystems frozen for a snapshot, each with its lease. */
  readonly freezes: FilesystemFreezes;
  /** Ends the agent after the current response has been sent. */
  requestShutdown(): void;
}
