// Names the guest image and the agent must agree on (the image's init creates them, the agent uses them).
/** virtio-serial port name of the agent channel (/sys/class/virtio-ports/vportNpM/name). */
export const AGENT_PORT_NAME = 'passvol.agent';
/** Created by the guest's init once every late module (xfs, nfs, 9p, virtio-fs, virtio-net) is loaded. */
export const MODULES_READY_MARK = '/run/passvol-init/modules-ready';
/** Created earlier, once the NFS modules are in and the guest network is up: NFS mounts wait for this. */
export const NETWORK_READY_MARK = '/run/passvol-init/network-ready';
/** The CPU model QEMU emulates under TCG. The image build makes the agent's TCG snapshot for this model. */
export const TCG_CPU_MODEL = 'max';
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
 * The guest's side of QEMU's user network (the NFS forwards): its interface and fixed address (no DHCP).
 * init configures it at boot; in a VM restored from a template, where the NIC is hot-plugged, the agent does.
 */
export const GUEST_NIC = 'eth0';
export const GUEST_NETWORK_ADDRESS = '10.0.2.15/24';
