// The NAS driver's backends. A volume is a folder of an NFS export; its id says which (server, share,
// folder, delete policy), so neither side keeps state. The controller makes and removes folders through an
// ExportAccess; the node only says where to mount from (a NAS is reachable from every node: no attach, no
// staging, no topology, no per-node limit).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PassvolError, invalidArgument, notFound } from '../../../common/errors.js';
import type { Logger } from '../../../common/logger.js';
import { ACCESS_MODES, type AccessMode, type CsiTopology, type Params } from '../../csi-types.js';
import type { ControllerBackend, ControllerCapability, CreateVolumeInput, NodeBackend, NodeCapability, NodeVolumeSource, VolumeInfo } from '../backend.js';
import { archiveNameFor, type ExportAccessResolver, type ExportLocator } from './export-access.js';
import type { FsUsage } from '../../host/mounter.js';
import { joinExportPath, trimTrailingSlashes } from './nas-paths.js';
import { parseNasParameters } from './nas-parameters.js';
import { NasVolumeRefSchema, decodeNasVolumeId, encodeNasVolumeId, parseNasVolumeId, type NasVolumeRef } from './nas-volume-id.js';
import { NFS_VERSIONS, defaultMountOptions, fstypeOf, nfsMountOptions } from './nfs-options.js';
import { renderSubDir } from './subdir-template.js';

const VolumeMetaSchema = z.object({ name: z.string(), subDir: z.string(), capacityBytes: z.number() });
const metaKey = (subDir: string) => createHash('sha256').update(subDir).digest('hex').slice(0, 32);

export const NAS_PASSTHROUGH_ANNOTATION = 'storage.alibabacloud.com/enable_nas_passthrough';
/** Every real access mode: an NFS folder can be shared by any number of writers on any number of nodes. */
export const NAS_MODES: readonly AccessMode[] = ACCESS_MODES.filter((m) => m !== 'UNKNOWN');
/**
 * New folders are 0777 (what csi-driver-nfs and nfs-subdir-external-provisioner give): pods run as any
 * uid, and in a sandbox no kubelet applies fsGroup to a passed-through NFS mount. Stricter is a driver option.
 */
export const DEFAULT_DIR_MODE = 0o777;

const CONTROLLER_CAPS: readonly ControllerCapability[] = ['CREATE_DELETE_VOLUME', 'GET_VOLUME', 'SINGLE_NODE_MULTI_WRITER'];
const NODE_CAPS: readonly NodeCapability[] = ['GET_VOLUME_STATS', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER', 'VOLUME_MOUNT_GROUP'];

export interface NasControllerOptions {
  exports: ExportLocator;
  dirMode?: number;
  now?: () => Date;
  logger?: Logger;
}

export class NasControllerBackend implements ControllerBackend {
  readonly controllerCapabilities = CONTROLLER_CAPS;
  readonly supportedModes = NAS_MODES;
  /** A mount capability for NFS usually names no fs_type; nfs and nfs4 are accepted as synonyms. */
  readonly supportedFsTypes = ['', 'nfs', 'nfs4'] as const;
  readonly defaultFsType = '';
  readonly blockSupported = false;

  constructor(private readonly options: NasControllerOptions) {}

  validateParameters(parameters: Params): void {
    parseNasParameters(parameters);
  }

  async createVolume(input: CreateVolumeInput): Promise<VolumeInfo> {
    const params = parseNasParameters(input.parameters);
    if (input.source?.snapshotId || input.source?.volumeId) {
      throw new PassvolError('PV_ERR_UNIMPLEMENTED', 'NAS volumes cannot be created from a snapshot or another volume; drop the dataSource');
    }
    if (input.accesses.some((a) => a.kind === 'block')) throw invalidArgument('NAS volumes are filesystems only; raw block access is not supported');
    if (input.limitBytes > 0 && input.requiredBytes > input.limitBytes) {
      throw invalidArgument(`required_bytes ${input.requiredBytes} exceeds limit_bytes ${input.limitBytes}`);
    }
    const subDir = renderSubDir(params.subDir, {
      pvName: input.claim.pvName ?? input.name,
      ...(input.claim.pvcName ? { pvcName: input.claim.pvcName } : {}),
      ...(input.claim.pvcNamespace ? { pvcNamespace: input.claim.pvcNamespace } : {}),
    });
    const flags = input.accesses.filter((a) => a.kind === 'mount').flatMap((a) => a.mountFlags);
    const mountOptions = nfsMountOptions(params.nfsVersion, params.mountOptions, flags);
    const ref: NasVolumeRef = { server: params.server, share: params.share, subDir, onDelete: params.onDelete };
    const volumeId = encodeNasVolumeId(ref);
    const access = this.options.exports.forExport(ref.server, ref.share);
    // The folder remembers which volume owns it and its size: a retried CreateVolume returns the same
    // volume, while another size, or another volume whose template lands on the same folder, is refused.
    const key = metaKey(subDir);
    const owner = VolumeMetaSchema.safeParse(JSON.parse((await access.readMeta(key)) ?? 'null'));
    if (owner.success && (owner.data.name !== input.name || owner.data.capacityBytes !== input.requiredBytes)) {
      throw new PassvolError(
        'PV_ERR_ALREADY_EXISTS',
        owner.data.name !== input.name
          ? `folder "${subDir}" already belongs to volume "${owner.data.name}"; give the StorageClass a subDir template that includes \${pv.metadata.name}`
          : `volume "${input.name}" exists with ${owner.data.capacityBytes} bytes, not ${input.requiredBytes}`,
      );
    }
    await access.ensureDir(subDir, this.options.dirMode ?? DEFAULT_DIR_MODE);
    if (!owner.success) await access.writeMeta(key, JSON.stringify({ name: input.name, subDir, capacityBytes: input.requiredBytes }));
    this.options.logger?.info({ volumeId, name: input.name }, 'NAS volume folder ready');
    return {
      volumeId,
      // NFS has no size per folder without a directory quota (which the export may not support): the
      // capacity is what was asked for, and nothing enforces it.
      capacityBytes: input.requiredBytes,
      volumeContext: {
        ...input.extraContext,
        server: ref.server,
        share: ref.share,
        subDir,
        nfsVersion: params.nfsVersion,
        mountOptions: mountOptions.join(','),
      },
    };
  }

  async deleteVolume(volumeId: string): Promise<void> {
    const decoded = decodeNasVolumeId(volumeId);
    if ('problem' in decoded) {
      // Nothing of ours is named by it; CSI asks DeleteVolume of an unknown id to succeed.
      this.options.logger?.warn({ volumeId, problem: decoded.problem }, 'DeleteVolume of an id that is not a NAS volume: nothing to do');
      return;
    }
    const ref = decoded.ref;
    if (ref.onDelete === 'retain') {
      this.options.logger?.info({ volumeId, onDelete: 'retain' }, 'NAS volume deleted: its folder is kept (onDelete: retain)');
      return;
    }
    if (ref.subDir === '') {
      // A whole-share volume (static PV): never remove or rename the export itself.
      this.options.logger?.warn({ volumeId }, 'volume is a whole export: kept despite its onDelete policy');
      return;
    }
    const access = this.options.exports.forExport(ref.server, ref.share);
    if (ref.onDelete === 'delete') await access.removeDir(ref.subDir);
    else await access.archiveDir(ref.subDir, archiveNameFor(ref.subDir, this.options.now?.() ?? new Date()));
    await access.removeMeta(metaKey(ref.subDir));
    this.options.logger?.info({ volumeId, onDelete: ref.onDelete, access: access.description }, ref.onDelete === 'delete' ? 'NAS volume deleted with its folder' : 'NAS volume deleted: its folder was archived');
  }

  async getVolume(volumeId: string): Promise<VolumeInfo | undefined> {
    const ref = parseNasVolumeId(volumeId);
    if (!ref) return undefined;
    const access = this.options.exports.forExport(ref.server, ref.share);
    if (!(await access.exists(ref.subDir))) return undefined;
    const meta = VolumeMetaSchema.safeParse(JSON.parse((await access.readMeta(metaKey(ref.subDir))) ?? 'null'));
    return { volumeId, capacityBytes: meta.success ? meta.data.capacityBytes : 0, volumeContext: { server: ref.server, share: ref.share, subDir: ref.subDir } };
  }

  listVolumes(): Promise<VolumeInfo[]> {
    // The folders of an export are not a list of volumes (other tools and archives live there too), and the
    // ids hold the StorageClass's policy, which a folder does not: LIST_VOLUMES is not offered.
    return Promise.reject(new PassvolError('PV_ERR_UNIMPLEMENTED', 'the NAS driver does not list volumes'));
  }
}

/** The volume context as the node reads it; tolerant, since static PVs are written by people. */
const NodeContextSchema = z
  .object({
    server: z.string().optional(),
    share: z.string().optional(),
    subDir: z.string().optional(),
    /** csi-driver-nfs spells it in lower case. */
    subdir: z.string().optional(),
    nfsVersion: z.enum(NFS_VERSIONS).optional(),
    mountOptions: z.string().max(4096).optional(),
  })
  .passthrough();

export class NasNodeBackend implements NodeBackend {
  readonly nodeCapabilities = NODE_CAPS;

  /**
   * With a local path of the export, stats can be answered before any sandbox mounts the volume. Never by
   * mounting the export: a passed-through NAS volume is not mounted on the host at all.
   */
  constructor(private readonly exports?: Pick<ExportAccessResolver, 'localFor'>) {}

  async usage(volumeId: string, volumeContext: Params): Promise<FsUsage | undefined> {
    if (!this.exports) return undefined;
    const ref = parseNasVolumeId(volumeId) ?? (volumeContext.server && volumeContext.share ? { server: volumeContext.server, share: volumeContext.share } : undefined);
    return ref ? this.exports.localFor(ref.server, ref.share)?.usage() : undefined;
  }
  readonly podPassthroughAnnotation = NAS_PASSTHROUGH_ANNOTATION;
  readonly supportedModes = NAS_MODES;
  readonly supportedFsTypes = ['', 'nfs', 'nfs4'] as const;
  readonly defaultFsType = '';
  readonly blockSupported = false;

  maxVolumesPerNode(): number {
    return 0;
  }

  topology(): CsiTopology | undefined {
    return undefined;
  }

  async resolveSource(volumeId: string, _publishContext: Params, volumeContext: Params): Promise<NodeVolumeSource> {
    const parsed = NodeContextSchema.safeParse(volumeContext);
    if (!parsed.success) throw invalidArgument(`volume_context: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const ctx = parsed.data;
    const ref = refFromIdOrContext(volumeId, ctx);
    const version = ctx.nfsVersion ?? '4.1';
    return {
      kind: 'nfs',
      server: ref.server,
      exportPath: joinExportPath(ref.share, ref.subDir),
      fstype: fstypeOf(version),
      mountOptions: ctx.mountOptions === undefined ? defaultMountOptions(version) : nfsMountOptions(version, ctx.mountOptions),
    };
  }
}

/** The id decides; a static PV in csi-driver-nfs style (any handle, server and share in the context) works too. */
function refFromIdOrContext(volumeId: string, ctx: z.infer<typeof NodeContextSchema>): NasVolumeRef {
  const subDir = ctx.subDir ?? ctx.subdir;
  const decoded = decodeNasVolumeId(volumeId);
  if ('ref' in decoded) {
    const given = { server: ctx.server, share: ctx.share === undefined ? undefined : trimTrailingSlashes(ctx.share), subDir };
    const clash = (['server', 'share', 'subDir'] as const).find((key) => given[key] !== undefined && given[key] !== decoded.ref[key]);
    if (clash) throw invalidArgument(`volume_context ${clash} "${given[clash]}" contradicts volume id ${volumeId}; fix or drop it in the PV's volumeAttributes`);
    return decoded.ref;
  }
  if (ctx.server === undefined || ctx.share === undefined) throw notFound(`${decoded.problem}; a static NAS PV needs volumeAttributes server and share`);
  const r = NasVolumeRefSchema.safeParse({ server: ctx.server, share: trimTrailingSlashes(ctx.share), subDir: subDir ?? '', onDelete: 'retain' });
  if (!r.success) throw invalidArgument(`volumeAttributes of static NAS volume ${volumeId}: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return r.data;
}
