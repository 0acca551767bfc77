// The disk driver's backend: provisioning through a DiskProvider, and on the node, the attached device.
import { statSync } from 'node:fs';
import { PassvolError, failedPrecondition, invalidArgument, notFound } from '../../../common/errors.js';
import type { AccessMode, CsiTopology, Params } from '../../csi-types.js';
import { SINGLE_NODE_MODES } from '../../csi-types.js';
import type { ControllerBackend, ControllerCapability, CreateVolumeInput, NodeBackend, NodeCapability, NodeVolumeSource, SnapshotInfo, VolumeInfo } from '../backend.js';
import { VOLUME_CONTEXT } from '../backend.js';
import type { Disk, DiskProvider, DiskSnapshot } from './disk-provider.js';
import { parseDiskParameters } from './disk-parameters.js';

export const DISK_TOPOLOGY_KEY = 'topology.disk.csi.passvol.io/node';
export const PUBLISH_CONTEXT_DEVICE = 'devicePath';
const GiB = 2 ** 30;
/** mkfs.xfs refuses smaller devices. */
const XFS_MIN_BYTES = 300 * 2 ** 20;

export interface DiskBackendOptions {
  provider: DiskProvider;
  nodeId: string;
  maxVolumesPerNode: number;
  defaultCapacityBytes?: number;
}

const CONTROLLER_CAPS: readonly ControllerCapability[] = [
  'CREATE_DELETE_VOLUME',
  'PUBLISH_UNPUBLISH_VOLUME',
  'LIST_VOLUMES',
  'LIST_VOLUMES_PUBLISHED_NODES',
  // ListVolumes and ControllerGetVolume report the disk image's health.
  'VOLUME_CONDITION',
  'GET_VOLUME',
  'GET_CAPACITY',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_SNAPSHOTS',
  'CLONE_VOLUME',
  'PUBLISH_READONLY',
  'EXPAND_VOLUME',
  'SINGLE_NODE_MULTI_WRITER',
];

const NODE_CAPS: readonly NodeCapability[] = ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER', 'VOLUME_MOUNT_GROUP'];

export class DiskBackend implements ControllerBackend, NodeBackend {
  readonly controllerCapabilities = CONTROLLER_CAPS;
  readonly nodeCapabilities = NODE_CAPS;
  readonly supportedModes: readonly AccessMode[] = SINGLE_NODE_MODES;
  readonly supportedFsTypes = ['ext4', 'xfs'] as const;
  readonly defaultFsType = 'ext4';
  readonly blockSupported = true;
  readonly podPassthroughAnnotation = 'storage.alibabacloud.com/enable_ebs_passthrough';

  constructor(private readonly options: DiskBackendOptions) {}

  private get provider(): DiskProvider {
    return this.options.provider;
  }

  validateParameters(parameters: Params): void {
    parseDiskParameters(parameters);
  }

  async createVolume(input: CreateVolumeInput): Promise<VolumeInfo> {
    const params = parseDiskParameters(input.parameters);
    let bytes = input.requiredBytes || this.options.defaultCapacityBytes || GiB;
    const fsTypes = [...input.accesses.map((a) => a.fsType), params.fstype, params['katacontainers.direct.volume/fstype']];
    bytes = Math.max(bytes, this.provider.minDiskBytes, fsTypes.includes('xfs') ? XFS_MIN_BYTES : 0);
    if (input.limitBytes && bytes > input.limitBytes) {
      if (input.requiredBytes > input.limitBytes) throw invalidArgument(`required_bytes ${input.requiredBytes} exceeds limit_bytes ${input.limitBytes}`);
      throw new PassvolError('PV_ERR_OUT_OF_RANGE', `the smallest disk is ${this.provider.minDiskBytes} bytes, above limit_bytes ${input.limitBytes}`);
    }
    if (input.source?.volumeId) {
      const src = await this.provider.get(input.source.volumeId);
      if (!src) throw notFound(`source volume ${input.source.volumeId} does not exist`);
      bytes = Math.max(bytes, src.capacityBytes);
    }
    if (input.source?.snapshotId) {
      const snap = await this.provider.getSnapshot(input.source.snapshotId);
      if (!snap) throw notFound(`source snapshot ${input.source.snapshotId} does not exist`);
      bytes = Math.max(bytes, snap.sizeBytes);
    }
    if (input.limitBytes && bytes > input.limitBytes) throw new PassvolError('PV_ERR_OUT_OF_RANGE', `the source needs ${bytes} bytes, above limit_bytes ${input.limitBytes}`);
    const context: Params = { ...input.extraContext };
    if (params.mkfsOptions) context[VOLUME_CONTEXT.mkfsOptions] = params.mkfsOptions;
    const fstype = params.fstype ?? params['katacontainers.direct.volume/fstype'];
    if (fstype) context[VOLUME_CONTEXT.fstype] = fstype;
    const disk = await this.provider.create({ name: input.name, capacityBytes: bytes, parameters: context, ...(input.source ? { source: input.source } : {}) });
    return this.infoOf(disk);
  }

  private async infoOf(disk: Disk): Promise<VolumeInfo> {
    const health = (await this.provider.health?.(disk)) ?? { abnormal: false, message: 'no health check for this provider' };
    const info: VolumeInfo = {
      volumeId: disk.id,
      capacityBytes: disk.capacityBytes,
      volumeContext: disk.parameters,
      topology: [{ segments: { [DISK_TOPOLOGY_KEY]: this.options.nodeId } }],
      publishedNodes: disk.attachment ? [disk.attachment.nodeId] : [],
      condition: health,
    };
    if (disk.source) info.source = disk.source;
    return info;
  }

  async deleteVolume(volumeId: string): Promise<void> {
    await this.provider.delete(volumeId);
  }

  async getVolume(volumeId: string): Promise<VolumeInfo | undefined> {
    const disk = await this.provider.get(volumeId);
    return disk ? this.infoOf(disk) : undefined;
  }

  async listVolumes(): Promise<VolumeInfo[]> {
    return Promise.all((await this.provider.list()).map((d) => this.infoOf(d)));
  }

  async publish(volumeId: string, nodeId: string, readonly: boolean): Promise<Params> {
    const { devicePath } = await this.provider.attach(volumeId, nodeId, readonly);
    return { [PUBLISH_CONTEXT_DEVICE]: devicePath };
  }

  async unpublish(volumeId: string, nodeId: string): Promise<void> {
    await this.provider.detach(volumeId, nodeId);
  }

  async expand(volumeId: string, requiredBytes: number): Promise<{ capacityBytes: number; nodeExpansionRequired: boolean }> {
    const disk = await this.provider.expand(volumeId, requiredBytes);
    return { capacityBytes: disk.capacityBytes, nodeExpansionRequired: true };
  }

  availableBytes(): Promise<number> {
    return this.provider.availableBytes();
  }

  private snapInfo(s: DiskSnapshot): SnapshotInfo {
    return { snapshotId: s.id, sourceVolumeId: s.sourceVolumeId, sizeBytes: s.sizeBytes, createdAt: new Date(s.createdAt) };
  }

  async createSnapshot(name: string, sourceVolumeId: string): Promise<SnapshotInfo> {
    return this.snapInfo(await this.provider.createSnapshot(name, sourceVolumeId));
  }
  async deleteSnapshot(snapshotId: string): Promise<void> {
    await this.provider.deleteSnapshot(snapshotId);
  }
  async getSnapshot(snapshotId: string): Promise<SnapshotInfo | undefined> {
    const s = await this.provider.getSnapshot(snapshotId);
    return s ? this.snapInfo(s) : undefined;
  }
  async listSnapshots(): Promise<SnapshotInfo[]> {
    return (await this.provider.listSnapshots()).map((s) => this.snapInfo(s));
  }

  maxVolumesPerNode(): number {
    return this.options.maxVolumesPerNode;
  }

  topology(): CsiTopology {
    return { segments: { [DISK_TOPOLOGY_KEY]: this.options.nodeId } };
  }

  async volumeExists(volumeId: string): Promise<boolean> {
    return (await this.provider.get(volumeId)) !== undefined;
  }

  async deviceIsVolume(volumeId: string, devicePath: string): Promise<boolean> {
    return this.provider.verifyDevice ? this.provider.verifyDevice(volumeId, devicePath) : true;
  }

  async refreshDeviceSize(volumeId: string): Promise<void> {
    await this.provider.refreshAttached?.(volumeId);
  }

  async resolveSource(volumeId: string, publishContext: Params): Promise<NodeVolumeSource> {
    const devicePath = publishContext[PUBLISH_CONTEXT_DEVICE];
    if (!devicePath) throw invalidArgument(`publish_context has no ${PUBLISH_CONTEXT_DEVICE}: was ControllerPublishVolume called for ${volumeId}?`);
    let st;
    try {
      st = statSync(devicePath);
    } catch {
      st = undefined; // missing, or a path that cannot be a device: either way not this volume's device
    }
    if (!st?.isBlockDevice()) throw notFound(`device ${devicePath} of volume ${volumeId} is not a block device on this node`);
    if (this.provider.verifyDevice && !(await this.provider.verifyDevice(volumeId, devicePath))) {
      throw failedPrecondition(`device ${devicePath} is no longer volume ${volumeId} (detached or reused since publish); publish the volume to this node again`);
    }
    return { kind: 'block', devicePath };
  }
}
