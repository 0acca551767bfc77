// Which filesystem a volume gets on the node: the capability's fs_type when it names one, else the
// StorageClass's fstype parameter (kept in the volume context at CreateVolume), else the driver's default;
// a disk that holds a filesystem already, and whose capability names none, keeps the one it holds.
import { failedPrecondition } from '../../common/errors.js';
import { VOLUME_CONTEXT } from '../backends/backend.js';
import type { VolumeAccess } from '../capabilities.js';
import type { CsiVolumeCapability, Params } from '../csi-types.js';
import type { NodeContext } from './node-context.js';

export interface FsTypeRequest {
  /** What the capability names ('' for none). */
  named: string;
  /** What the StorageClass parameter asked for ('' for none). */
  stored: string;
}

export function fsTypeRequest(cap: CsiVolumeCapability | null | undefined, volumeContext: Params): FsTypeRequest {
  return { named: cap?.mount?.fs_type ?? '', stored: volumeContext[VOLUME_CONTEXT.fstype] ?? '' };
}

/** The fs_type to read the capability with when it names none. */
export function fallbackFsType(r: FsTypeRequest, driverDefault: string): string {
  return r.stored || driverDefault;
}

/**
 * A capability and a StorageClass parameter that disagree: formatting a new disk with either could be the
 * wrong one, so it is refused. A disk that already holds the capability's filesystem (formatted by a
 * version that let the capability win) is mounted as it is, with a warning.
 */
async function checkFsTypeAgreement(ctx: NodeContext, volumeId: string, r: FsTypeRequest, device: string): Promise<void> {
  if (!r.named || !r.stored || r.named === r.stored) return;
  const existing = await ctx.mounter.filesystemOf(device);
  if (existing === r.named) {
    ctx.log.warn({ volumeId, device, capability: r.named, parameter: r.stored }, 'the volume capability and the StorageClass fstype disagree; the disk already holds the capability\'s filesystem: using it');
    return;
  }
  throw failedPrecondition(
    `volume ${volumeId}: the volume capability asks for fs_type ${r.named} but the StorageClass parameter fstype is ${r.stored}` +
      `${existing ? ` (the disk holds ${existing})` : ''}; make them agree (csi.storage.k8s.io/fstype in the StorageClass, or the PV's spec.csi.fsType), or drop one of them`,
  );
}

/**
 * The access a disk is staged and published with. With no fs_type in the capability, a filesystem already on
 * the disk wins over the StorageClass parameter and the default: versions that ignored the parameter formatted
 * ext4 whatever it said, and such a disk must keep mounting (and reach a guest) as what it is. A capability
 * that names a filesystem is left as it is, so formatIfNew still refuses a disk holding another one.
 */
export async function diskAccess(ctx: NodeContext, volumeId: string, r: FsTypeRequest, device: string, access: VolumeAccess): Promise<VolumeAccess> {
  if (access.kind !== 'mount') return access;
  await checkFsTypeAgreement(ctx, volumeId, r, device);
  if (r.named) return access;
  const existing = await ctx.mounter.filesystemOf(device);
  // One the driver cannot mount is left to formatIfNew's refusal, which names it.
  if (!existing || existing === access.fsType || !ctx.backend.supportedFsTypes.includes(existing)) return access;
  ctx.log.warn(
    { volumeId, device, onDisk: existing, asked: access.fsType, ...(r.stored ? { parameter: r.stored } : {}) },
    `the disk already holds ${existing}, not the ${access.fsType} the StorageClass fstype (or the driver default) asks for: using ${existing}, as a disk is never reformatted (an older version formatted it without reading the parameter)`,
  );
  return { ...access, fsType: existing };
}
