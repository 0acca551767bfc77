// The seam to a "cloud" that makes disks: create, delete, attach to a node, detach, expand, snapshot.
// The embedded default is LoopPoolProvider; a real cloud implements the same interface.

export interface DiskSource {
  snapshotId?: string;
  volumeId?: string;
}

export interface Disk {
  id: string;
  name: string;
  capacityBytes: number;
  createdAt: string;
  parameters: Record<string, string>;
  source?: DiskSource;
  /** The node it is attached to, if any, and the device path there. */
  attachment?: { nodeId: string; devicePath: string; readonly: boolean };
}

export interface DiskSnapshot {
  id: string;
  name: string;
  sourceVolumeId: string;
  sizeBytes: number;
  createdAt: string;
}

export interface DiskProvider {
  /** Smallest and largest disk the provider makes. */
  readonly minDiskBytes: number;
  readonly maxDiskBytes: number;
  /**
   * Idempotent by name: the same name, size, source and shaping parameters (passthrough, mkfs options,
   * fstype) return the same disk; any other is AlreadyExists.
   */
  create(request: { name: string; capacityBytes: number; parameters: Record<string, string>; source?: DiskSource }): Promise<Disk>;
  /** Deletes the disk and its data; a missing disk is not an error; an attached disk is refused. */
  delete(id: string): Promise<void>;
  get(id: string): Promise<Disk | undefined>;
  list(): Promise<Disk[]>;
  /** Attaches the disk to a node and returns its device path there (idempotent). */
  attach(id: string, nodeId: string, readonly: boolean): Promise<{ devicePath: string }>;
  /** Detaches; not attached is not an error. */
  detach(id: string, nodeId: string): Promise<void>;
  /** Grows the disk (never shrinks) and tells an attached device about it. */
  expand(id: string, capacityBytes: number): Promise<Disk>;
  /** Whether the disk's backing store is sound (VOLUME_CONDITION), with what is wrong when it is not. */
  health?(disk: Disk): Promise<{ abnormal: boolean; message: string }>;
  /** Makes this node's attachment of the disk see its current size (after an expand elsewhere). */
  refreshAttached?(id: string): Promise<void>;
  createSnapshot(name: string, sourceVolumeId: string): Promise<DiskSnapshot>;
  deleteSnapshot(id: string): Promise<void>;
  getSnapshot(id: string): Promise<DiskSnapshot | undefined>;
  listSnapshots(): Promise<DiskSnapshot[]>;
  /** Whether the device path on this node really is this disk (publish contexts can go stale). */
  verifyDevice?(id: string, devicePath: string): Promise<boolean>;
  /** Bytes available for new disks. */
  availableBytes(): Promise<number>;
}
