// Names the guest image and the agent must agree on (the image's init creates them, the agent uses them).
/** virtio-serial port name of the agent channel (/sys/class/virtio-ports/vportNpM/name). */
export const AGENT_PORT_NAME = 'passvol.agent';
/** Created by the guest's init once every late module (xfs, nfs, 9p, virtio-fs, virtio-net) is loaded. */
export const MODULES_READY_MARK = '/run/passvol-init/modules-ready';
/** Created earlier, once the NFS modules are in and the guest network is up: NFS mounts wait for this. */
export const NETWORK_READY_MARK = '/run/passvol-init/network-ready';
/** The CPU model QEMU emulates under TCG. The image build makes the agent's TCG snapshot for this model. */
export const TCG_CPU_MODEL = 'max';
/** The static helper that narrows a root container process's capabilities (src/agent/caps-exec/), on the agent disk. */
export const GUEST_CAPS_EXEC = '/usr/libexec/passvol/caps-exec';
/**
 * Kernel argument with which the runtime tells the guest its acceleration (`tcg` or `kvm`); init starts
 * the agent from the startup snapshot made for it (V8 loads a snapshot only on the CPU features it was made on).
 */
export const GUEST_ACCEL_ARG = 'passvol.accel';
/**
 * The guest loads most kernel modules in the background, group by group. The runtime names the groups
 * this sandbox needs first (`passvol.modules=virtiofs,nfs`); init loads those, then the others.
 */
export const GUEST_MODULES_ARG = 'passvol.modules';
export const MODULE_GROUPS = ['virtiofs', '9p', 'nfs', 'xfs'] as const;
export type ModuleGroup = (typeof MODULE_GROUPS)[number];
/**
 * The guest's networks to its NFS servers, each its own QEMU user network (restrict=on) with its own
 * subnet: network 0 is the one a sandbox boots with, configured by init (in a VM restored from a template,
 * where its NIC is hot-plugged, by the agent); a container added later whose NAS volumes are on servers
 * the sandbox does not reach yet gets network 1, 2, ... hot-plugged, which the agent configures. The
 * agent finds each NIC by its MAC address: interface names follow probe order.
 */
export interface GuestNetwork {
  index: number;
  /** The first three octets: the network is `${prefix}.0/24`. */
  prefix: string;
  /** The guest's own fixed address on it (no DHCP), with its prefix length. */
  address: string;
  mac: string;
}
export const MAX_GUEST_NETWORKS = 16;

export function guestNetwork(index: number): GuestNetwork {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_GUEST_NETWORKS) throw new RangeError(`guest network index ${index} is not in 0..${MAX_GUEST_NETWORKS - 1}`);
  // 10.0.2.0/24 is QEMU's default user network; the others follow it.
  const prefix = `10.0.${2 + index}`;
  return { index, prefix, address: `${prefix}.15/24`, mac: `52:54:00:70:76:${(index + 1).toString(16).padStart(2, '0')}` };
}

/** Network 0's address and MAC, as init configures it at boot (it finds the NIC by the MAC). */
export const GUEST_NETWORK_ADDRESS = guestNetwork(0).address;
export const GUEST_MAC = guestNetwork(0).mac;
