// Reading a CSI VolumeCapability into what passvol acts on, refusing what the backend cannot serve.
import { invalidArgument } from '../common/errors.js';
import { ACCESS_MODES, type AccessMode, type CsiVolumeCapability } from './csi-types.js';

export interface VolumeAccess {
  kind: 'mount' | 'block';
  fsType: string;
  mountFlags: string[];
  volumeMountGroup: string;
  mode: AccessMode;
}

export function readCapability(cap: CsiVolumeCapability | null | undefined, defaultFsType: string): VolumeAccess {
  if (!cap) throw invalidArgument('volume_capability is required');
  const mode = (cap.access_mode?.mode ?? 'UNKNOWN') as AccessMode;
  if (!ACCESS_MODES.includes(mode) || mode === 'UNKNOWN') throw invalidArgument('volume_capability.access_mode.mode must be set');
  if (cap.block) return { kind: 'block', fsType: '', mountFlags: [], volumeMountGroup: '', mode };
  if (cap.mount) {
    return {
      kind: 'mount',
      fsType: cap.mount.fs_type || defaultFsType,
      mountFlags: cap.mount.mount_flags ?? [],
      volumeMountGroup: cap.mount.volume_mount_group ?? '',
      mode,
    };
  }
  throw invalidArgument('volume_capability needs an access type: block or mount');
}

/** Why a capability is unsupported, or undefined when it is fine. */
export function unsupportedReason(access: VolumeAccess, supportedModes: readonly AccessMode[], supportedFsTypes: readonly string[], blockSupported: boolean): string | undefined {
  if (!supportedModes.includes(access.mode)) return `access mode ${access.mode} is not supported; use one of ${supportedModes.join(', ')}`;
  if (access.kind === 'block' && !blockSupported) return 'raw block access is not supported by this driver; use a filesystem volume';
  if (access.kind === 'mount' && !supportedFsTypes.includes(access.fsType)) return `fs_type "${access.fsType}" is not supported; use one of ${supportedFsTypes.join(', ')}`;
  return undefined;
}
