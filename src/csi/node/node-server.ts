// The CSI Node service: validates each request, takes the volume's lock, decides passthrough, and hands
// off to the host or passthrough path.
import { rm } from 'node:fs/promises';
import { isMountPoint } from '../../common/mount-table.js';
import { z } from 'zod';
import { PassvolError, failedPrecondition, notFound } from '../../common/errors.js';
import { VOLUME_CONTEXT } from '../backends/backend.js';
import { readCapability, unsupportedReason, type VolumeAccess } from '../capabilities.js';
import type { CsiVolumeCapability, Params } from '../csi-types.js';
import type { FsGroupChangePolicy } from '../host/fs-group.js';
import { decideAtPublish, type Decision } from '../passthrough/decide.js';
import { capabilityShape, parseRequest, requiredString, stringMap } from '../parse-request.js';
import { checkPath } from '../request-paths.js';
import { prepareFilesystem, mountStaging, publishOnHost } from './host-publish.js';
import { diskAccess, fallbackFsType, fsTypeRequest, type FsTypeRequest } from './fs-type.js';
import type { NodeContext } from './node-context.js';
import { guardPublishedDisk, publishPassthrough } from './passthrough-publish.js';
import { PublishIndex } from './publish-index.js';
import { volumeStats } from './volume-stats.js';
import { expandOnNode } from './volume-expand.js';

const POD_NAME = 'csi.storage.k8s.io/pod.name';
const POD_NAMESPACE = 'csi.storage.k8s.io/pod.namespace';
const POD_UID = 'csi.storage.k8s.io/pod.uid';

const StageRequest = z.object({
  volume_id: requiredString('volume_id'),
  publish_context: stringMap,
  staging_target_path: requiredString('staging_target_path'),
  volume_capability: capabilityShape.nullish(),
  volume_context: stringMap,
});
const PublishRequest = StageRequest.extend({
  staging_target_path: z.string().default(''),
  target_path: requiredString('target_path'),
  readonly: z.boolean().default(false),
});
const UnpublishRequest = z.object({ volume_id: requiredString('volume_id'), target_path: requiredString('target_path') });
const UnstageRequest = z.object({ volume_id: requiredString('volume_id'), staging_target_path: requiredString('staging_target_path') });
const StatsRequest = z.object({ volume_id: requiredString('volume_id'), volume_path: requiredString('volume_path') });
const ExpandRequest = z.object({
  volume_id: requiredString('volume_id'),
  volume_path: requiredString('volume_path'),
  capacity_range: z.object({ required_bytes: z.number().default(0), limit_bytes: z.number().default(0) }).nullish(),
});

export class NodeServer {
  constructor(private readonly ctx: NodeContext) {}

  private access(cap: unknown, fsType: FsTypeRequest): VolumeAccess {
    const b = this.ctx.backend;
    const access = readCapability(cap as CsiVolumeCapability, fallbackFsType(fsType, b.defaultFsType));
    const why = unsupportedReason(access, b.supportedModes, b.supportedFsTypes, b.blockSupported);
    if (why) throw new PassvolError('PV_ERR_INVALID_ARGUMENT', why);
    return access;
  }

  private path(field: string, value: string): string {
    return checkPath(field, value, this.ctx.config.kubeletRoot);
  }

  /** For calls that only look: a path outside the kubelet root or an unknown volume holds no volume. */
  private async lookup(volumeId: string, field: string, value: string): Promise<string> {
    let path: string;
    try {
      path = this.path(field, value);
    } catch (e) {
      throw notFound(`no volume at ${field} "${value}": ${(e as Error).message}`);
    }
    if (this.ctx.backend.volumeExists && !(await this.ctx.backend.volumeExists(volumeId))) throw notFound(`volume ${volumeId} does not exist`);
    return path;
  }

  async NodeStageVolume(request: unknown): Promise<object> {
    const r = parseRequest(StageRequest, request);
    const staging = this.path('staging_target_path', r.staging_target_path);
    const fsType = fsTypeRequest(r.volume_capability as CsiVolumeCapability, r.volume_context);
    const asked = this.access(r.volume_capability, fsType);
    return this.ctx.locks.with(r.volume_id, async () => {
      const source = await this.ctx.backend.resolveSource(r.volume_id, r.publish_context, r.volume_context);
      if (source.kind !== 'block' || asked.kind === 'block') return {};
      const access = await diskAccess(this.ctx, r.volume_id, fsType, source.devicePath, asked);
      await prepareFilesystem(this.ctx, r.volume_id, source.devicePath, access, r.volume_context);
      if (r.volume_context[VOLUME_CONTEXT.passthrough] === 'true') {
        this.ctx.log.info({ volumeId: r.volume_id }, 'staged for passthrough: formatted, not mounted on the host');
        return {};
      }
      // Passed through because of the pod (not the volume): after a kubelet restart kubelet stages again
      // while the guest still has the disk mounted, and a host mount now would be a second writer.
      const holder = await this.passthroughHolder(r.volume_id);
      if (holder) {
        this.ctx.log.info({ volumeId: r.volume_id, target: holder }, 'staged without a host mount: the disk is passed through to a sandbox at this target');
        return {};
      }
      await mountStaging(this.ctx, source.devicePath, staging, access);
      return {};
    });
  }

  /**
   * The target where this driver published the disk for a sandbox, if it did: its one-target claim, which a
   * passthrough publish writes before the record and start-up keeps while the record is there. One readlink,
   * not a read of every record, on each stage.
   */
  private passthroughHolder(volumeId: string): Promise<string | undefined> {
    return new PublishIndex(this.ctx.records, this.ctx.config.driverName).holder(volumeId);
  }

  async NodeUnstageVolume(request: unknown): Promise<object> {
    const r = parseRequest(UnstageRequest, request);
    const staging = this.path('staging_target_path', r.staging_target_path);
    return this.ctx.locks.with(r.volume_id, async () => {
      await this.ctx.mounter.unmount(staging);
      return {};
    });
  }

  async NodePublishVolume(request: unknown): Promise<object> {
    const r = parseRequest(PublishRequest, request);
    const target = this.path('target_path', r.target_path);
    const staging = r.staging_target_path ? this.path('staging_target_path', r.staging_target_path) : undefined;
    if (!staging && this.ctx.backend.nodeCapabilities.includes('STAGE_UNSTAGE_VOLUME')) throw new PassvolError('PV_ERR_INVALID_ARGUMENT', 'staging_target_path is required: this driver stages volumes');
    const fsType = fsTypeRequest(r.volume_capability as CsiVolumeCapability, r.volume_context);
    const asked = this.access(r.volume_capability, fsType);
    return this.ctx.locks.with(r.volume_id, async () => {
      const existing = await this.ctx.records.find(target);
      const source = await this.ctx.backend.resolveSource(r.volume_id, r.publish_context, r.volume_context);
      const p = { volumeId: r.volume_id, targetPath: target, stagingPath: staging, access: asked, readonly: r.readonly, source };
      if (existing?.mountInfo.metadata?.volumeId === r.volume_id) {
        // Already published for a sandbox; unless the disk came back under another device since. The
        // guard runs again: kubelet may have staged it on the host meanwhile (after it restarted).
        if (source.kind !== 'block') return {};
        if (existing.mountInfo.device === source.devicePath) {
          await guardPublishedDisk(this.ctx, p);
          return {};
        }
        if (existing.sandboxId) throw failedPrecondition(`volume ${r.volume_id} is in sandbox ${existing.sandboxId} as ${existing.mountInfo.device}, but attached here as ${source.devicePath} now; stop the pod first`);
        this.ctx.log.warn({ volumeId: r.volume_id, target, was: existing.mountInfo.device, now: source.devicePath }, 'the record named an old device; writing it again');
        await this.ctx.records.remove(target);
      }
      const facts = await this.decide(r.volume_id, r.volume_context, asked.kind === 'mount' && asked.volumeMountGroup !== '');
      let { decision } = facts;
      if (decision.passthrough && asked.kind === 'block') {
        decision = { passthrough: false, reason: `${decision.reason}, but raw block volumes reach a sandbox as devices already: host path` };
      }
      this.ctx.log.info({ volumeId: r.volume_id, target, passthrough: decision.passthrough, reason: decision.reason }, 'publish decision');
      // The disk's filesystem matters only where it is mounted now (a passthrough record, or a staging path
      // kubelet has not mounted): a publish from a mounted staging path does not probe the device again.
      const probe = source.kind === 'block' && (decision.passthrough || !staging || !(await isMountPoint(staging)));
      const access = probe ? await diskAccess(this.ctx, r.volume_id, fsType, source.devicePath, asked) : asked;
      const published = { ...p, access, ...(facts.fsGroupChangePolicy ? { fsGroupChangePolicy: facts.fsGroupChangePolicy } : {}) };
      if (decision.passthrough) await publishPassthrough(this.ctx, published);
      else await publishOnHost(this.ctx, { ...published, volumeContext: r.volume_context });
      return {};
    });
  }

  /**
   * Passthrough or host path, and the pod's fsGroupChangePolicy. The pod is read when the volume itself does
   * not decide, or when an fsGroup is to be applied (kubelet does not send the policy); in the second case
   * alone, a pod that cannot be read costs only time: fsGroup goes to every file (Always, Kubernetes' default).
   */
  private async decide(volumeId: string, context: Params, fsGroup: boolean): Promise<{ decision: Decision; fsGroupChangePolicy?: FsGroupChangePolicy }> {
    const requested: Decision | undefined =
      context[VOLUME_CONTEXT.passthrough] === 'true' ? { passthrough: true, reason: context[VOLUME_CONTEXT.passthroughReason] ?? 'requested at create' } : undefined;
    const name = context[POD_NAME];
    const namespace = context[POD_NAMESPACE];
    const uid = context[POD_UID] ?? '';
    let pod;
    let podUnavailableReason: string | undefined = 'kubelet sent no pod info (podInfoOnMount off?)';
    if ((!requested || fsGroup) && name && namespace) {
      if (!uid) {
        // Without the UID the pod the API server returns may be another one of the same name.
        podUnavailableReason = `kubelet sent pod ${namespace}/${name} without its UID (${POD_UID}): the pod cannot be confirmed`;
      } else {
        const facts = await this.ctx.cluster.pod(namespace, name, uid);
        if ('error' in facts) {
          // Guessing "host path" would give a sandbox pod a host mount for its whole life: let kubelet retry.
          if (!requested) {
            throw new PassvolError('PV_ERR_UNAVAILABLE', `cannot decide whether volume ${volumeId} passes through: reading pod ${namespace}/${name} from the API server failed (${facts.error}); kubelet retries. Check that the API server is reachable and that the node plugin may get pods`);
          }
          this.ctx.log.warn({ volumeId, pod: `${namespace}/${name}`, err: facts.error }, 'cannot read the pod for its fsGroupChangePolicy: fsGroup is applied to every file (Always)');
        } else if ('pod' in facts) pod = facts.pod;
        else podUnavailableReason = facts.unavailable;
      }
      if (!pod && !requested) this.ctx.log.warn({ volumeId, pod: `${namespace}/${name}`, why: podUnavailableReason }, 'pod facts unavailable');
    }
    const decision = decideAtPublish({
      requestedAtCreate: requested,
      pod,
      podUnavailableReason,
      podAnnotation: this.ctx.backend.podPassthroughAnnotation,
      runtimeClasses: this.ctx.config.runtimeClasses,
    });
    return { decision, ...(fsGroup && pod?.fsGroupChangePolicy ? { fsGroupChangePolicy: pod.fsGroupChangePolicy } : {}) };
  }

  async NodeUnpublishVolume(request: unknown): Promise<object> {
    const r = parseRequest(UnpublishRequest, request);
    const target = this.path('target_path', r.target_path);
    return this.ctx.locks.with(r.volume_id, async () => {
      const record = await this.ctx.records.find(target).catch(() => undefined);
      if (record?.sandboxId) this.ctx.log.warn({ volumeId: r.volume_id, sandbox: record.sandboxId }, 'unpublishing a volume a sandbox still holds');
      await this.ctx.records.remove(target);
      await new PublishIndex(this.ctx.records, this.ctx.config.driverName).release(r.volume_id, target);
      await this.ctx.mounter.unmount(target);
      await rm(target, { recursive: false, force: true }).catch(async () => this.ctx.mounter.removeDir(target));
      return {};
    });
  }

  async NodeGetVolumeStats(request: unknown): Promise<object> {
    const r = parseRequest(StatsRequest, request);
    return volumeStats(this.ctx, r.volume_id, await this.lookup(r.volume_id, 'volume_path', r.volume_path));
  }

  async NodeExpandVolume(request: unknown): Promise<object> {
    const r = parseRequest(ExpandRequest, request);
    const path = await this.lookup(r.volume_id, 'volume_path', r.volume_path);
    return this.ctx.locks.with(r.volume_id, async () => ({ capacity_bytes: await expandOnNode(this.ctx, r.volume_id, path, r.capacity_range?.required_bytes ?? 0) }));
  }

  async NodeGetCapabilities(): Promise<object> {
    return { capabilities: this.ctx.backend.nodeCapabilities.map((type) => ({ rpc: { type } })) };
  }

  async NodeGetInfo(): Promise<object> {
    const topology = this.ctx.backend.topology();
    return { node_id: this.ctx.config.nodeId, max_volumes_per_node: this.ctx.backend.maxVolumesPerNode(), accessible_topology: topology ?? null };
  }
}
