// Linux capability names (as OCI spells them: CAP_ and upper case) and the masks caps-exec takes: bit n is
// capability n. Names this table does not know are left out, as runc warns and skips them; caps-exec
// leaves alone what the running kernel does not know.
import type { ProcessSpec } from '../protocol/index.js';

const NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** The capability's number, or undefined for a name this table does not know (names are exact, as runc's). */
export function capabilityNumber(name: string): number | undefined {
  const i = (NAMES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : i;
}

/** A set of names as caps-exec's hexadecimal mask; the names it does not know, apart. */
export function capabilityMask(names: readonly string[]): { mask: string; unknown: string[] } {
  let mask = 0n;
  const unknown: string[] = [];
  for (const name of names) {
    const n = capabilityNumber(name);
    if (n === undefined) unknown.push(name);
    else mask |= 1n << BigInt(n);
  }
  return { mask: mask.toString(16), unknown };
}

export type CapabilitySets = NonNullable<ProcessSpec['capabilities']>;

/**
 * caps-exec's five masks, in its order: bounding, effective, permitted, inheritable, ambient. What the kernel
 * would refuse is narrowed first, as a runtime must: effective within permitted, ambient within permitted
 * and inheritable (containerd leaves inheritable empty, so ambient with it).
 */
export function capabilityMasks(sets: CapabilitySets): { masks: string[]; unknown: string[]; narrowed: string[] } {
  const parts = [sets.bounding, sets.effective, sets.permitted, sets.inheritable, sets.ambient].map((s) => capabilityMask(s));
  const [bounding, effective, permitted, inheritable, ambient] = parts.map((p) => BigInt(`0x${p.mask}`)) as [bigint, bigint, bigint, bigint, bigint];
  const fixedEffective = effective & permitted;
  const fixedAmbient = ambient & permitted & inheritable;
  const narrowed = [...(fixedEffective !== effective ? ['effective'] : []), ...(fixedAmbient !== ambient ? ['ambient'] : [])];
  return { masks: [bounding, fixedEffective, permitted, inheritable, fixedAmbient].map((m) => m.toString(16)), unknown: [...new Set(parts.flatMap((p) => p.unknown))], narrowed };
}
