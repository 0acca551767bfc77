// NFS mount options: the defaults the cloud vendors use for each protocol version, overridden first by the
// StorageClass `mountOptions` parameter and then by the CSI mount_flags (the PV's mountOptions). An option
// replaces the earlier one that sets the same thing (`soft` replaces `hard`, `lock` replaces `nolock`).
import { invalidArgument } from '../../../common/errors.js';

export const NFS_VERSIONS = ['3', '4', '4.0', '4.1'] as const;
export type NfsVersion = (typeof NFS_VERSIONS)[number];

// v3 has no lease state, so `nolock` (no NLM) and a generous `timeo` keep a server failover invisible;
// `noresvport` lets a reconnect use a fresh source port, which NAS load balancers need.
const V3_DEFAULTS = ['vers=3', 'nolock', 'proto=tcp', 'rsize=1048576', 'wsize=1048576', 'hard', 'timeo=600', 'retrans=2', 'noresvport'];

/** Mount options that would turn the NFS mount into something else entirely. */
const FORBIDDEN = new Set(['bind', 'rbind', 'remount', 'move']);
/** Flags whose `no` form is the same setting (nolock/lock, noac/ac, ...). */
const NEGATABLE = new Set(['lock', 'resvport', 'ac', 'cto', 'acl', 'rdirplus', 'sharecache', 'intr', 'fsc', 'exec', 'suid', 'dev', 'atime', 'diratime']);
/** Flags that are settings of one slot. */
const SLOT_OF: Record<string, string> = { hard: 'hard|soft', soft: 'hard|soft', ro: 'ro|rw', rw: 'ro|rw', tcp: 'proto', udp: 'proto' };
const KEY_ALIAS: Record<string, string> = { nfsvers: 'vers' };
const OPTION = /^[A-Za-z0-9_.-]+(?:=[A-Za-z0-9_.:/@+-]*)?$/;

export function fstypeOf(version: NfsVersion): 'nfs' | 'nfs4' {
  return version === '3' ? 'nfs' : 'nfs4';
}

export function defaultMountOptions(version: NfsVersion): string[] {
  if (version === '3') return [...V3_DEFAULTS];
  return [version === '4.0' ? 'vers=4.0' : 'vers=4.1', 'noresvport'];
}

function slotOf(option: string): string {
  const eq = option.indexOf('=');
  if (eq >= 0) {
    const key = option.slice(0, eq);
    return KEY_ALIAS[key] ?? key;
  }
  if (SLOT_OF[option]) return SLOT_OF[option];
  if (option.startsWith('no') && NEGATABLE.has(option.slice(2))) return option.slice(2);
  return option;
}

/** Splits and checks a comma list of options; `source` names where it came from for the error. */
export function parseMountOptions(list: string | readonly string[], source: string): string[] {
  const items = (typeof list === 'string' ? [list] : list).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!OPTION.test(item)) throw invalidArgument(`${source}: "${item}" is not a mount option (name or name=value, without spaces or quotes)`);
    if (FORBIDDEN.has(item)) throw invalidArgument(`${source}: "${item}" is not allowed for an NFS volume`);
  }
  return items;
}

/** The NFS version an option list asks for, if it names one (vers= or nfsvers=). */
function versionIn(options: readonly string[]): string | undefined {
  let found: string | undefined;
  for (const o of options) if (slotOf(o) === 'vers') found = o.slice(o.indexOf('=') + 1);
  return found;
}

const majorOf = (v: string) => v.split('.')[0];

/** Later layers override earlier ones, slot by slot; the first spelling's position is kept. */
export function mergeMountOptions(...layers: ReadonlyArray<readonly string[]>): string[] {
  const bySlot = new Map<string, string>();
  for (const layer of layers) for (const option of layer) bySlot.set(slotOf(option), option.replace(/^nfsvers=/, 'vers='));
  return [...bySlot.values()];
}

/**
 * The options a client mounts with. An override may pick 4.0 or 4.1 inside v4, but may not change the major
 * version: that is `nfsVersion`'s job, and it decides the filesystem type (nfs or nfs4).
 */
export function nfsMountOptions(version: NfsVersion, storageClassOptions?: string, mountFlags: readonly string[] = []): string[] {
  const fromClass = parseMountOptions(storageClassOptions ?? '', 'StorageClass parameter mountOptions');
  const fromFlags = parseMountOptions(mountFlags, 'volume_capability.mount.mount_flags');
  for (const [layer, source] of [
    [fromClass, 'StorageClass parameter mountOptions'],
    [fromFlags, 'volume_capability.mount.mount_flags'],
  ] as const) {
    const asked = versionIn(layer);
    if (asked !== undefined && majorOf(asked) !== majorOf(version)) {
      throw invalidArgument(`${source}: vers=${asked} contradicts nfsVersion ${version}; set the StorageClass parameter nfsVersion instead`);
    }
  }
  return mergeMountOptions(defaultMountOptions(version), fromClass, fromFlags);
}
