// Which mount options and paths the agent accepts from the host. Everything not listed is refused with
// INVALID_ARGUMENT naming the option; nosuid and nodev are always added.
import { isIP } from 'node:net';
import { AgentError, type KernelMount, type MountSource } from '../protocol/index.js';
import { checkGuestPath } from './guest-paths.js';

type Check = (value: string | undefined) => boolean;

const flag: Check = (v) => v === undefined;
const uint: Check = (v) => v !== undefined && /^\d{1,10}$/.test(v);
const oneOf =
  (...allowed: string[]): Check =>
  (v) => v !== undefined && allowed.includes(v);
const ip: Check = (v) => v !== undefined && isIP(v) !== 0;

const GENERIC: Record<string, Check> = {
  ro: flag,
  rw: flag,
  nosuid: flag,
  nodev: flag,
  noexec: flag,
  noatime: flag,
  relatime: flag,
  nodiratime: flag,
  lazytime: flag,
  sync: flag,
  dirsync: flag,
  discard: flag,
};

const NFS: Record<string, Check> = {
  vers: oneOf('3', '4', '4.0', '4.1', '4.2'),
  nfsvers: oneOf('3', '4', '4.0', '4.1', '4.2'),
  proto: oneOf('tcp', 'udp', 'tcp6', 'udp6'),
  port: uint,
  mountport: uint,
  mountproto: oneOf('tcp', 'udp', 'tcp6', 'udp6'),
  addr: ip,
  clientaddr: ip,
  nolock: flag,
  hard: flag,
  soft: flag,
  timeo: uint,
  retrans: uint,
  rsize: uint,
  wsize: uint,
  noresvport: flag,
  actimeo: uint,
  ac: flag,
  noac: flag,
  nocto: flag,
  sec: oneOf('sys'),
};

const NINE_P: Record<string, Check> = {
  trans: oneOf('virtio'),
  version: oneOf('9p2000.L', '9p2000.u'),
  msize: uint,
  cache: oneOf('none', 'loose', 'fscache', 'mmap'),
};

/** Options with a specific reason to refuse them. */
const REFUSED: Record<string, string> = {
  bind: 'bind mounts are made by createContainer, never by mount',
  rbind: 'bind mounts are made by createContainer, never by mount',
  remount: 'the agent mounts each target once; unmount and mount again',
  move: 'moving mounts is not offered',
  suid: 'nosuid is always applied',
  dev: 'nodev is always applied',
  nobarrier: 'it trades crash safety for speed and can lose data',
  loop: 'loop devices are not offered in the guest',
};

const CONFLICTS: readonly (readonly [string, string])[] = [
  ['ro', 'rw'],
  ['hard', 'soft'],
  ['ac', 'noac'],
];

export const BLOCK_FSTYPES = ['ext4', 'ext3', 'ext2', 'xfs'] as const;

function allowedFor(kind: MountSource['kind']): Record<string, Check> {
  if (kind === 'nfs') return { ...GENERIC, ...NFS };
  if (kind === '9p') return { ...GENERIC, ...NINE_P };
  if (kind === 'tmpfs') return { ...GENERIC, ...KERNEL.tmpfs };
  return GENERIC;
}

/** Validates options for a source kind; returns them deduplicated with nosuid,nodev added. */
export function checkMountOptions(kind: MountSource['kind'], options: readonly string[]): string[] {
  return checkOptions(`a ${kind} mount`, allowedFor(kind), options, ['nosuid', 'nodev']);
}

const octalMode: Check = (v) => v !== undefined && /^0?[0-7]{3,4}$/.test(v);
const amount: Check = (v) => v !== undefined && /^\d{1,19}[kKmMgG]?$/.test(v);

/** Per kernel filesystem of a container, what it may be given beyond the generic flags. */
const KERNEL: Record<KernelMount['fstype'], Record<string, Check>> = {
  tmpfs: { size: (v) => v !== undefined && /^(\d{1,19}[kKmMgG]?|\d{1,3}%)$/.test(v), nr_inodes: amount, mode: octalMode, uid: uint, gid: uint },
  // Terminals: a private pts instance per container, as OCI runtimes mount it.
  devpts: { newinstance: flag, ptmxmode: octalMode, mode: octalMode, gid: uint, uid: uint, max: uint },
  sysfs: {},
  mqueue: {},
  cgroup2: {},
};

/**
 * Validates the options of a filesystem the guest kernel makes for a container (sysfs, tmpfs, ...);
 * returns them deduplicated with nosuid and, except on devpts (whose nodes are its point), nodev added.
 */
export function checkKernelMountOptions(fstype: KernelMount['fstype'], options: readonly string[]): string[] {
  const allowed = { ...GENERIC, strictatime: flag, ...KERNEL[fstype] };
  return checkOptions(`a ${fstype} mount`, allowed, options, fstype === 'devpts' ? ['nosuid'] : ['nosuid', 'nodev']);
}

function checkOptions(what: string, allowed: Record<string, Check>, options: readonly string[], forced: readonly string[]): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  for (const option of options) {
    if (/[,\s\0]/.test(option)) throw new AgentError('INVALID_ARGUMENT', `mount option "${option}" must be one option (no commas or spaces)`);
    const eq = option.indexOf('=');
    const name = eq === -1 ? option : option.slice(0, eq);
    const value = eq === -1 ? undefined : option.slice(eq + 1);
    if (REFUSED[name]) throw new AgentError('INVALID_ARGUMENT', `mount option "${name}" is refused: ${REFUSED[name]}`);
    const check = allowed[name];
    if (!check) {
      const where = NFS[name] ? ' (it applies to NFS mounts only)' : NINE_P[name] ? ' (it applies to 9p mounts only)' : '';
      throw new AgentError('INVALID_ARGUMENT', `mount option "${name}" is not allowed for ${what}${where}`);
    }
    if (!check(value)) throw new AgentError('INVALID_ARGUMENT', `mount option "${option}" has a value the agent does not accept`);
    if (names.has(name)) {
      if (out.includes(option)) continue;
      throw new AgentError('INVALID_ARGUMENT', `mount option "${name}" is given twice with different values`);
    }
    names.add(name);
    out.push(option);
  }
  for (const [a, b] of CONFLICTS) {
    if (names.has(a) && names.has(b)) throw new AgentError('INVALID_ARGUMENT', `mount options "${a}" and "${b}" contradict each other`);
  }
  for (const f of forced) if (!names.has(f)) out.push(f);
  return out;
}

export interface MountPlan {
  /** What `mount` is given as the source: a device node is filled in later for block sources. */
  readonly kind: MountSource['kind'];
  readonly fstype: string;
  readonly options: string[];
  readonly target: string;
  readonly readonly: boolean;
}

/** Checks target, fstype and options of a mount request and returns what to pass to `mount`. */
export function planMount(args: {
  source: MountSource;
  target: string;
  fstype: string;
  options: readonly string[];
}): MountPlan {
  const target = checkGuestPath(args.target, 'mount target');
  const { source, fstype } = args;
  let requested = [...args.options];
  if (source.kind === 'block' && !(BLOCK_FSTYPES as readonly string[]).includes(fstype)) {
    throw new AgentError('INVALID_ARGUMENT', `fstype "${fstype}" is not offered for a block device; use one of ${BLOCK_FSTYPES.join(', ')}`);
  }
  if (source.kind === 'nfs') {
    if (fstype !== source.fstype) throw new AgentError('INVALID_ARGUMENT', `fstype "${fstype}" differs from the NFS source's fstype "${source.fstype}"`);
    if (isIP(source.server) === 0) {
      throw new AgentError('INVALID_ARGUMENT', `NFS server "${source.server}" must be an IP address: the guest has no name service`);
    }
    requested = [...source.options, ...requested];
    if (!requested.some((o) => o.startsWith('addr='))) requested.push(`addr=${source.server}`);
  }
  if (source.kind === 'tmpfs' && fstype !== 'tmpfs') throw new AgentError('INVALID_ARGUMENT', `a tmpfs source needs fstype "tmpfs", not "${fstype}"`);
  if (source.kind === 'virtiofs' && fstype !== 'virtiofs') throw new AgentError('INVALID_ARGUMENT', `a virtiofs source needs fstype "virtiofs", not "${fstype}"`);
  if (source.kind === '9p') {
    if (fstype !== '9p') throw new AgentError('INVALID_ARGUMENT', `a 9p source needs fstype "9p", not "${fstype}"`);
    // The defaults that worked best in the guest (the kernel's own msize is small).
    if (!requested.some((o) => o.startsWith('trans='))) requested.push('trans=virtio');
    if (!requested.some((o) => o.startsWith('version='))) requested.push('version=9p2000.L');
    if (!requested.some((o) => o.startsWith('msize='))) requested.push('msize=262144');
  }
  const options = checkMountOptions(source.kind, requested);
  return { kind: source.kind, fstype, options, target, readonly: options.includes('ro') };
}

/** The `mount` source string for a network, shared-fs or memory source. */
export function remoteDevice(source: Exclude<MountSource, { kind: 'block' }>): string {
  if (source.kind === 'nfs') return isIP(source.server) === 6 ? `[${source.server}]:${source.path}` : `${source.server}:${source.path}`;
  if (source.kind === 'tmpfs') return 'tmpfs';
  return source.tag;
}
