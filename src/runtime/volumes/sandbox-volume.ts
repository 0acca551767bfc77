// A kind of volume a sandbox can attach: passed-through disk, passed-through NFS export, a host folder
// shared over virtio-fs/9p, or guest memory the pod shares. Each kind is one module; index.ts lists them.
import type { Logger } from '../../common/logger.js';
import type { AgentClient } from '../agent-client.js';
import type { BlockBackendSettings } from '../hypervisor.js';
import type { NfsForward } from './nfs-forwarding.js';
import type { PlannedMount } from './volume-plan.js';
import type { VolumeBinding } from './volume-binding.js';

/** The part of the VM a volume needs: block hot-plug, unplug and resize. */
export interface BlockHotplug {
  hotplugBlock(o: { id: string; path: string; serial: string; readonly: boolean; backend?: Partial<BlockBackendSettings> }): Promise<void>;
  unplugBlock(id: string): Promise<void>;
  resizeBlock(id: string, bytes: number): Promise<void>;
}

export interface VolumeContext {
  sandboxId: string;
  agent: AgentClient;
  vm: BlockHotplug;
  binding: VolumeBinding;
  forwards: readonly NfsForward[];
  /** Guest path of each shared host path, by shareKey(path, read-only) (shares are mounted at boot). */
  shares: ReadonlyMap<string, string>;
  log: Logger;
  /** How passed-through disks are opened on the host (defaults: runtime/qemu/block-backend.ts). */
  blockBackend?: Partial<BlockBackendSettings>;
  /** A short unique name for hot-plug ids, serials and guest paths. */
  nextName(): string;
  /** The guest's memory: what a tmpfs in it can hold at most (the guest has no swap). */
  guestMemoryBytes: number;
}

export interface AttachedVolume {
  kind: 'direct-block' | 'direct-nfs' | 'shared' | 'pod-tmpfs';
  /** Where the volume is in the guest, to bind into containers. */
  guestPath: string;
  /** What several containers' mounts of it have in common, when it is not a record (pod memory: its host source). */
  identity?: string;
  /** For direct volumes: the record's volume path and device, and the hot-plug id of a disk. */
  volumePath?: string;
  device?: string;
  hotplugId?: string;
  fstype?: string;
  /** Mounted read-only in the guest: a later container of the sandbox cannot have it read-write. */
  readonly?: boolean;
  detach(): Promise<void>;
}

export interface SandboxVolume {
  readonly kind: AttachedVolume['kind'];
  matches(plan: PlannedMount): boolean;
  attach(plan: PlannedMount, ctx: VolumeContext): Promise<AttachedVolume>;
}

/** Guest folder where the runtime asks the agent to mount volumes. */
export const GUEST_VOLUME_ROOT = '/run/passvol/volumes';
