// The port between the runtime and whatever runs the guest: start a VM from a spec, then hot-plug, resize
// and unplug disks while it runs. The QEMU implementation is runtime/qemu/qemu-vm.ts (QemuHypervisor).
//
// Machine choice for QEMU 7.2 (measured on this 2-core PVM host under TCG, 4.1 MB initramfs, wall clock
// from launch; the machine was shared, so figures moved by +-0.5 s between runs):
//   q35 + qboot (-bios qboot.rom), -kernel vmlinux: /init at 2.3-2.5 s (guest uptime 1.5-1.8 s), 6 of 6 boots
//       fine: when TSC calibration against the PIT fails under TCG the kernel falls back to the HPET.
//       ACPI PCI hot-plug into a pcie-root-port: the disk is in /sys/block ~0.1 s after device_add, and
//       device_del completes (DEVICE_DELETED) in ~0.13 s.
//   q35 + SeaBIOS: the same, 0.2-0.4 s slower.
//   microvm,pcie=on + pcie-root-port: /init at ~2.3 s, but hot-plug works only with `pcie_ports=native`
//       (its ACPI _OSC grants the OS no native hot-plug), device_del then waits out pciehp's 5 s
//       attention-button delay, and 3 boots of 14 hung for good after "tsc: Unable to calibrate against
//       PIT" (microvm has no HPET or PM timer to fall back on; likely the "quiet hangs microvm" report).
//   microvm with virtio-mmio: /init at 2.0-2.4 s, no hot-plug at all.
// So: q35 with qboot (SeaBIOS when qboot.rom is missing), direct kernel boot, N free pcie-root-ports.
// Boot to a pinging agent: 3.1-4.3 s with the placeholder agent, ~3.7 s with src/agent (node start ~1 s).

import { PassvolError } from '../common/errors.js';
import type { GuestNetwork } from '../protocol/index.js';

/** A VM template could not be restored (a QEMU upgrade, a corrupt file): the template is unusable, not the host. */
export class TemplateRestoreError extends PassvolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PV_ERR_EXTERNAL_COMMAND', message, options);
  }
}

/** The narrow QMP surface callers may use directly (query-block, query-pci, ...). */
export interface QmpChannel {
  execute(command: string, args?: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<unknown>;
  /** Resolves with the event's data when an event named `name` matching `match` arrives. Arm it before the command. */
  waitForEvent(name: string, match: (data: Record<string, unknown>) => boolean, timeoutMs: number): { promise: Promise<Record<string, unknown>>; cancel(): void };
}

export type ShareKind = 'virtiofs' | '9p';

export interface ShareSpec {
  kind: ShareKind;
  /** Mount tag in the guest: `mount -t virtiofs TAG` or `mount -t 9p -o trans=virtio TAG`. */
  tag: string;
  hostDir: string;
  /** virtio-fs cache mode (virtiofsd -o cache=); default auto. */
  cache?: 'auto' | 'always' | 'none';
}

/** A guest address whose TCP ports QEMU connects to a host address (user networking, restrict=on). */
export interface NetForward {
  guestAddress: string;
  host: string;
  /** A number forwards that port to the same port on the host. */
  ports: readonly (number | { guest: number; host: number })[];
}

export type Accel = 'kvm' | 'tcg';

/**
 * Guest RAM in a file, for VM templates (runtime/sandbox/vm-templates.ts). 'template': a VM booted to be
 * saved, its RAM in `file`. 'clone': a VM started from a saved template instead of booting: its RAM a
 * private copy of the template's `file`, its device state read from `state`.
 */
export type VmMemory = { kind: 'template'; file: string } | { kind: 'clone'; file: string; state: string };

export interface VmSpec {
  /** Short name for the process title and logs. */
  name: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  memoryMiB: number;
  cpus: number;
  /** The read-only agent disk image; attached as the first virtio-blk disk with serial `agentDiskSerial`. */
  agentDisk: string;
  agentDiskSerial?: string;
  /** The agent's virtio-serial port; QEMU serves `socketPath` (server=on, wait=off). */
  agentPort: { name: string; socketPath: string };
  shares?: readonly ShareSpec[];
  nfsForwards?: readonly NetForward[];
  /** Sockets, logs and the pid file go here (created 0700). */
  stateDir: string;
  /** Default 'auto': KVM when it is really usable, else TCG. */
  accel?: 'auto' | Accel;
  /** Free pcie-root-ports for hot-plugged disks (and a clone's virtio-fs shares); default 8. */
  hotplugSlots?: number;
  /** Default: anonymous RAM (a shared memfd when there are virtio-fs shares). */
  memory?: VmMemory;
}

export interface BlockBackendSettings {
  /** O_DIRECT on the host: bypass the host page cache (cache.direct). Never cache=unsafe. */
  cacheDirect: boolean;
  aio: 'native' | 'io_uring' | 'threads';
  /** Run the disk's virtqueue in its own QEMU iothread. */
  iothread: boolean;
}

export interface HotplugBlockRequest {
  /** Device id, also used for QEMU node names: [A-Za-z][A-Za-z0-9_-]{0,23}. */
  id: string;
  /** A block device (loop, nbd, a cloud disk) or a raw image file. */
  path: string;
  /** virtio-blk serial (at most 20 bytes): /sys/block/vdX/serial in the guest. */
  serial: string;
  readonly: boolean;
  backend?: Partial<BlockBackendSettings>;
}

export interface HotpluggedBlock {
  id: string;
  /** The pcie-root-port it sits in. */
  bus: string;
  /** The settings that QEMU accepted (after any fallback, e.g. aio=native -> threads). */
  backend: BlockBackendSettings;
}

export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningVm {
  readonly pid: number;
  readonly qmp: QmpChannel;
  readonly accel: Accel;
  /** The unix socket QEMU serves for the agent's virtio-serial port. */
  readonly agentSocket: string;
  hotplugBlock(request: HotplugBlockRequest): Promise<HotpluggedBlock>;
  /** device_del, then waits for the guest to release it (DEVICE_DELETED), then drops the backend. */
  unplugBlock(id: string): Promise<void>;
  /** Tells the guest the disk's new size. A block device must already have grown on the host. */
  resizeBlock(id: string, bytes: number): Promise<void>;
  /** Shares a host folder with the running guest over virtio-fs (a hot-plugged device and its virtiofsd). */
  addShare(tag: string, hostDir: string, options?: { announceSubmounts?: boolean }): Promise<void>;
  /**
   * Hot-plugs guest network `network`: a user network reaching only `forwards`, and its NIC. It stays
   * until the VM ends (its NFS mounts may outlive the container that needed it: a restarted one reuses it).
   */
  addNetwork(network: GuestNetwork, forwards: readonly NetForward[]): Promise<void>;
  /** Hot-plugs a NIC with the pod interface's MAC on a tap QEMU creates by the name `tap` (pod networking). */
  addPodNic(index: number, tap: string, mac: string): Promise<void>;
  /** Ends QEMU (quit, then signals) and its helpers, and removes every socket. Idempotent. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Resolves when QEMU has exited, for any reason, and its helpers are cleaned up. */
  wait(): Promise<VmExit>;
  /** Whether the guest was restored from a template rather than booted. */
  readonly fromTemplate: boolean;
  /**
   * A VM started with memory kind 'template': pauses it, writes its device state to `stateFile` (its RAM
   * is already in the memory file) and ends it.
   */
  saveTemplate(stateFile: string): Promise<void>;
}

export interface Hypervisor {
  start(spec: VmSpec): Promise<RunningVm>;
}
