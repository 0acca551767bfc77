// OCI mounts that are not binds (sysfs, tmpfs, devpts, mqueue, cgroup): the guest kernel makes them for the
// container, so they reach the agent as they are, in the spec's order. Two the agent always makes are
// left out: proc at /proc (the launcher mounts it inside the container's PID namespace) and a tmpfs at /dev
// (the agent's holds the standard devices). Any other type is refused before the sandbox starts.
import { invalidArgument } from '../../common/errors.js';
import { KERNEL_FSTYPES, type KernelMount } from '../../protocol/index.js';
import type { OciMount } from '../oci/bundle.js';

// The container's mount namespace is private, so propagation flags have nothing to act on.
const PROPAGATION = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']);

/** The kernel mount the agent makes for `m`; undefined for the two it makes anyway. */
export function kernelMountOf(m: OciMount): KernelMount | undefined {
  const where = `mount at ${m.destination}`;
  if (m.type === undefined) throw invalidArgument(`${where}: no type, and not a bind mount of an absolute host path`);
  if (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')) {
    throw invalidArgument(`${where}: a bind mount needs an absolute host source, not "${m.source ?? ''}"`);
  }
  if (m.type === 'proc') {
    if (m.destination === '/proc') return undefined;
    throw invalidArgument(`${where}: proc is mounted at /proc only, inside the container's PID namespace`);
  }
  if (m.type === 'tmpfs' && m.destination === '/dev') return undefined;
  // The guest kernel runs the unified hierarchy only; "cgroup" is how containerd names either.
  const fstype = m.type === 'cgroup' ? 'cgroup2' : m.type;
  if (!(KERNEL_FSTYPES as readonly string[]).includes(fstype)) {
    throw invalidArgument(`${where}: type "${m.type}" is not offered in a passvol sandbox; use a bind mount or one of proc, ${KERNEL_FSTYPES.join(', ')}, cgroup`);
  }
  return { fstype: fstype as KernelMount['fstype'], destination: m.destination, options: m.options.filter((o) => !PROPAGATION.has(o)) };
}
