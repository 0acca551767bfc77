// The CSI Controller service. Every call names what is wrong with a bad request; operations on one volume
// are serialised by the per-volume lock (a second one answers ABORTED).
import { z } from 'zod';
import { PassvolError, invalidArgument, notFound } from '../../common/errors.js';
import type { ControllerCapability } from '../backends/backend.js';
import { readCapability, unsupportedReason } from '../capabilities.js';
import type { CsiVolumeCapability } from '../csi-types.js';
import { capabilityShape, parseRequest, requiredString } from '../parse-request.js';
import type { ControllerContext } from './controller-context.js';
import { createVolume } from './create-volume.js';
import { toCsiSnapshot, toCsiVolume } from './csi-volume.js';
import { page } from './pagination.js';

const VolumeIdOnly = z.object({ volume_id: requiredString('volume_id') });
const PublishRequest = z.object({
  volume_id: requiredString('volume_id'),
  node_id: requiredString('node_id'),
  volume_capability: capabilityShape.nullish(),
  readonly: z.boolean().default(false),
});
const UnpublishRequest = z.object({ volume_id: requiredString('volume_id'), node_id: z.string().default('') });
const ValidateRequest = z.object({ volume_id: requiredString('volume_id'), volume_capabilities: z.array(capabilityShape).min(1, 'volume_capabilities must not be empty') }).passthrough();
const ListRequest = z.object({ max_entries: z.number().int().default(0), starting_token: z.string().default('') }).passthrough();
const ListSnapshotsRequest = ListRequest.extend({ source_volume_id: z.string().default(''), snapshot_id: z.string().default('') });
const ExpandRequest = z.object({
  volume_id: requiredString('volume_id'),
  capacity_range: z.object({ required_bytes: z.number().nonnegative(), limit_bytes: z.number().nonnegative() }, { invalid_type_error: 'capacity_range is required' }).nullish(),
});
const CreateSnapshotRequest = z.object({ name: requiredString('name'), source_volume_id: requiredString('source_volume_id') }).passthrough();
const DeleteSnapshotRequest = z.object({ snapshot_id: requiredString('snapshot_id') }).passthrough();

export class ControllerServer {
  constructor(private readonly ctx: ControllerContext) {}

  private get backend() {
    return this.ctx.backend;
  }

  private requireCapability(cap: ControllerCapability, rpc: string): void {
    if (!this.backend.controllerCapabilities.includes(cap)) throw new PassvolError('PV_ERR_UNIMPLEMENTED', `${rpc} is not supported by ${this.ctx.config.driverName}`);
  }

  private async existing(volumeId: string) {
    const v = await this.backend.getVolume(volumeId);
    if (!v) throw notFound(`volume ${volumeId} does not exist`);
    return v;
  }

  CreateVolume(request: unknown): Promise<object> {
    return createVolume(this.ctx, request);
  }

  async DeleteVolume(request: unknown): Promise<object> {
    const r = parseRequest(VolumeIdOnly, request);
    await this.ctx.locks.with(r.volume_id, () => this.backend.deleteVolume(r.volume_id));
    return {};
  }

  async ControllerPublishVolume(request: unknown): Promise<object> {
    this.requireCapability('PUBLISH_UNPUBLISH_VOLUME', 'ControllerPublishVolume');
    const r = parseRequest(PublishRequest, request);
    const access = readCapability(r.volume_capability as CsiVolumeCapability, this.backend.defaultFsType);
    const why = unsupportedReason(access, this.backend.supportedModes, [...this.backend.supportedFsTypes], this.backend.blockSupported);
    if (why) throw invalidArgument(why);
    return this.ctx.locks.with(r.volume_id, async () => {
      await this.existing(r.volume_id);
      if (r.node_id !== this.ctx.config.nodeId) throw notFound(`node ${r.node_id} is not served by this driver (it serves ${this.ctx.config.nodeId})`);
      return { publish_context: await this.backend.publish!(r.volume_id, r.node_id, r.readonly) };
    });
  }

  async ControllerUnpublishVolume(request: unknown): Promise<object> {
    this.requireCapability('PUBLISH_UNPUBLISH_VOLUME', 'ControllerUnpublishVolume');
    const r = parseRequest(UnpublishRequest, request);
    await this.ctx.locks.with(r.volume_id, () => this.backend.unpublish!(r.volume_id, r.node_id || this.ctx.config.nodeId));
    return {};
  }

  async ValidateVolumeCapabilities(request: unknown): Promise<object> {
    const r = parseRequest(ValidateRequest, request);
    const caps = r.volume_capabilities.map((c) => readCapability(c as CsiVolumeCapability, this.backend.defaultFsType));
    const volume = await this.existing(r.volume_id);
    const why = caps.map((a) => unsupportedReason(a, this.backend.supportedModes, [...this.backend.supportedFsTypes], this.backend.blockSupported)).find(Boolean);
    if (why) return { confirmed: null, message: why };
    return { confirmed: { volume_context: volume.volumeContext, volume_capabilities: r.volume_capabilities, parameters: (request as { parameters?: object }).parameters ?? {} }, message: '' };
  }

  async ListVolumes(request: unknown): Promise<object> {
    this.requireCapability('LIST_VOLUMES', 'ListVolumes');
    const r = parseRequest(ListRequest, request);
    const { entries, next_token } = page(await this.backend.listVolumes!(), r.starting_token, r.max_entries);
    return {
      entries: entries.map((v) => ({ volume: toCsiVolume(v), status: { published_node_ids: v.publishedNodes ?? [], volume_condition: v.condition ?? null } })),
      next_token,
    };
  }

  async ControllerGetVolume(request: unknown): Promise<object> {
    this.requireCapability('GET_VOLUME', 'ControllerGetVolume');
    const r = parseRequest(VolumeIdOnly, request);
    const v = await this.existing(r.volume_id);
    return { volume: toCsiVolume(v), status: { published_node_ids: v.publishedNodes ?? [], volume_condition: v.condition ?? null } };
  }

  async GetCapacity(request: unknown): Promise<object> {
    this.requireCapability('GET_CAPACITY', 'GetCapacity');
    const topology = (request as { accessible_topology?: { segments?: Record<string, string> } | null }).accessible_topology;
    if (topology?.segments && Object.keys(topology.segments).length && !Object.values(topology.segments).includes(this.ctx.config.nodeId)) {
      return { available_capacity: 0 };
    }
    const available = await this.backend.availableBytes!();
    return { available_capacity: available, maximum_volume_size: { value: available } };
  }

  async ControllerGetCapabilities(): Promise<object> {
    return { capabilities: this.backend.controllerCapabilities.map((type) => ({ rpc: { type } })) };
  }

  async CreateSnapshot(request: unknown): Promise<object> {
    this.requireCapability('CREATE_DELETE_SNAPSHOT', 'CreateSnapshot');
    const r = parseRequest(CreateSnapshotRequest, request);
    return this.ctx.locks.with(r.source_volume_id, async () => {
      await this.existing(r.source_volume_id);
      return { snapshot: toCsiSnapshot(await this.backend.createSnapshot!(r.name, r.source_volume_id)) };
    });
  }

  async DeleteSnapshot(request: unknown): Promise<object> {
    this.requireCapability('CREATE_DELETE_SNAPSHOT', 'DeleteSnapshot');
    const r = parseRequest(DeleteSnapshotRequest, request);
    await this.ctx.locks.with(`snapshot:${r.snapshot_id}`, () => this.backend.deleteSnapshot!(r.snapshot_id));
    return {};
  }

  async ListSnapshots(request: unknown): Promise<object> {
    this.requireCapability('LIST_SNAPSHOTS', 'ListSnapshots');
    const r = parseRequest(ListSnapshotsRequest, request);
    let all = await this.backend.listSnapshots!();
    if (r.snapshot_id) all = all.filter((s) => s.snapshotId === r.snapshot_id);
    if (r.source_volume_id) all = all.filter((s) => s.sourceVolumeId === r.source_volume_id);
    const { entries, next_token } = page(all, r.starting_token, r.max_entries);
    return { entries: entries.map((s) => ({ snapshot: toCsiSnapshot(s) })), next_token };
  }

  async ControllerExpandVolume(request: unknown): Promise<object> {
    this.requireCapability('EXPAND_VOLUME', 'ControllerExpandVolume');
    const r = parseRequest(ExpandRequest, request);
    if (!r.capacity_range) throw invalidArgument('capacity_range is required');
    const { required_bytes, limit_bytes } = r.capacity_range;
    if (limit_bytes && required_bytes > limit_bytes) throw invalidArgument(`required_bytes ${required_bytes} exceeds limit_bytes ${limit_bytes}`);
    return this.ctx.locks.with(r.volume_id, async () => {
      await this.existing(r.volume_id);
      const out = await this.backend.expand!(r.volume_id, required_bytes);
      return { capacity_bytes: out.capacityBytes, node_expansion_required: out.nodeExpansionRequired };
    });
  }

  async ControllerModifyVolume(): Promise<object> {
    throw new PassvolError('PV_ERR_UNIMPLEMENTED', 'ControllerModifyVolume is not supported');
  }
}
