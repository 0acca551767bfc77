// Names the guest image and the agent must agree on (the image's init creates them, the agent uses them).
/** virtio-serial port name of the agent channel (/sys/class/virtio-ports/vportNpM/name). */
export const AGENT_PORT_NAME = 'passvol.agent';
/** Created by the guest's init once every late module (xfs, nfs, 9p, virtio-fs, virtio-net) is loaded. */
export const MODULES_READY_MARK = '/run/passvol-init/modules-ready';
/** Created earlier, once the NFS modules are in and the guest network is up: NFS mounts wait for this. */
export const NETWORK_READY_MARK = '/run/passvol-init/network-ready';
