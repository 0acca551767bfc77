// The seam between the CSI servers and a kind of volume. The servers validate requests, hold locks and
// decide passthrough; a backend provisions volumes (controller side) and says where a volume comes from on
// a node (node side). Adding a kind of volume is one new backend plus one line in backends/index.ts.
import type { AccessMode, CsiTopology, Params } from '../csi-types.js';
import type { VolumeAccess } from '../capabilities.js';
import type { FsUsage } from '../host/mounter.js';

export type ControllerCapability =
  | 'CREATE_DELETE_VOLUME'
  | 'PUBLISH_UNPUBLISH_VOLUME'
  | 'LIST_VOLUMES'
  | 'GET_CAPACITY'
  | 'CREATE_DELETE_SNAPSHOT'
  | 'LIST_SNAPSHOTS'
  | 'CLONE_VOLUME'
  | 'PUBLISH_READONLY'
  | 'EXPAND_VOLUME'
  | 'LIST_VOLUMES_PUBLISHED_NODES'
  | 'VOLUME_CONDITION'
  | 'GET_VOLUME'
  | 'SINGLE_NODE_MULTI_WRITER';

export type NodeCapability = 'STAGE_UNSTAGE_VOLUME' | 'GET_VOLUME_STATS' | 'EXPAND_VOLUME' | 'VOLUME_CONDITION' | 'SINGLE_NODE_MULTI_WRITER' | 'VOLUME_MOUNT_GROUP';

/** Kubernetes facts the external-provisioner adds with --extra-create-metadata. */
export interface ClaimFacts {
  pvcName?: string;
  pvcNamespace?: string;
  pvName?: string;
}

export interface CreateVolumeInput {
  name: string;
  /** What the CO asked for (0 = no preference). */
  requiredBytes: number;
  limitBytes: number;
  /** StorageClass parameters without the csi.storage.k8s.io/ keys. */
  parameters: Params;
  claim: ClaimFacts;
  source?: { snapshotId?: string; volumeId?: string };
  accesses: VolumeAccess[];
  /** Context keys the servers add to the volume context (the passthrough request, for example). */
  extraContext: Params;
}

export interface VolumeInfo {
  volumeId: string;
  capacityBytes: number;
  volumeContext: Params;
  source?: { snapshotId?: string; volumeId?: string };
  topology?: CsiTopology[];
  publishedNodes?: string[];
  condition?: { abnormal: boolean; message: string };
}

export interface SnapshotInfo {
  snapshotId: string;
  sourceVolumeId: string;
  sizeBytes: number;
  createdAt: Date;
}

export interface ControllerBackend {
  readonly controllerCapabilities: readonly ControllerCapability[];
  readonly supportedModes: readonly AccessMode[];
  readonly supportedFsTypes: readonly string[];
  /** The fs_type assumed when a mount capability names none. */
  readonly defaultFsType: string;
  readonly blockSupported: boolean;
  /** Refuses bad StorageClass parameters (InvalidArgument naming the key). */
  validateParameters(parameters: Params): void;
  createVolume(input: CreateVolumeInput): Promise<VolumeInfo>;
  /** Deletes the volume's data (or archives/retains it by policy). Missing is not an error. */
  deleteVolume(volumeId: string): Promise<void>;
  getVolume(volumeId: string): Promise<VolumeInfo | undefined>;
  listVolumes?(): Promise<VolumeInfo[]>;
  publish?(volumeId: string, nodeId: string, readonly: boolean): Promise<Params>;
  unpublish?(volumeId: string, nodeId: string): Promise<void>;
  expand?(volumeId: string, requiredBytes: number): Promise<{ capacityBytes: number; nodeExpansionRequired: boolean }>;
  availableBytes?(): Promise<number>;
  createSnapshot?(name: string, sourceVolumeId: string): Promise<SnapshotInfo>;
  deleteSnapshot?(snapshotId: string): Promise<void>;
  getSnapshot?(snapshotId: string): Promise<SnapshotInfo | undefined>;
  listSnapshots?(): Promise<SnapshotInfo[]>;
}

/** Where a volume comes from on a node. */
export type NodeVolumeSource =
  | { kind: 'block'; devicePath: string }
  | { kind: 'nfs'; server: string; exportPath: string; fstype: 'nfs' | 'nfs4'; mountOptions: string[] };

export interface NodeBackend {
  readonly nodeCapabilities: readonly NodeCapability[];
  /** Which passthrough pod annotation applies to this kind of volume. */
  readonly podPassthroughAnnotation: string;
  readonly supportedModes: readonly AccessMode[];
  readonly supportedFsTypes: readonly string[];
  readonly defaultFsType: string;
  readonly blockSupported: boolean;
  maxVolumesPerNode(): number;
  topology(): CsiTopology | undefined;
  /** Finds the volume on this node; NotFound when it is not (or no longer) there. */
  resolveSource(volumeId: string, publishContext: Params, volumeContext: Params): Promise<NodeVolumeSource>;
  /** Usage of a volume no one on this node has mounted (a NAS seen through its export), if known. */
  usage?(volumeId: string, volumeContext: Params): Promise<FsUsage | undefined>;
  /** Whether the volume exists at all (NotFound for stats of an unknown id). */
  volumeExists?(volumeId: string): Promise<boolean>;
  /** Whether a device on this node is still the volume (false when it was detached or now holds another). */
  deviceIsVolume?(volumeId: string, devicePath: string): Promise<boolean>;
  /** After the CO expanded the volume: make this node see the new size (e.g. refresh a loop device). */
  refreshDeviceSize?(volumeId: string, source: NodeVolumeSource): Promise<void>;
}

export const VOLUME_CONTEXT = {
  /** "true" when the StorageClass or the PVC asked for passthrough at create time. */
  passthrough: 'passvol.io/passthrough',
  passthroughReason: 'passvol.io/passthrough-reason',
  mkfsOptions: 'passvol.io/mkfs-options',
  /** The StorageClass's fstype parameter (disk): the node formats with it when the capability names none. */
  fstype: 'fstype',
} as const;
