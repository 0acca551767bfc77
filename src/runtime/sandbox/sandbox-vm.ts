// What a sandbox needs from its VM, and what it asks for when starting one. The QEMU implementation
// lives in runtime/qemu/; tests and other hypervisors implement the same port.
import type { BlockHotplug } from '../volumes/sandbox-volume.js';
import type { NfsForward } from '../volumes/nfs-forwarding.js';
import type { GuestNetwork, ModuleGroup } from '../../protocol/index.js';

/** The guest image as the runtime boots it (the CLI reads it from the image's manifest). */
export interface GuestImagePaths {
  kernel: string;
  initrd: string;
  agentDisk: string;
  agentDiskSerial: string;
  agentPortName: string;
  cmdline: string;
}

/** A saved VM template's files (runtime/sandbox/vm-templates.ts keeps them). */
export interface VmTemplate {
  dir: string;
  memoryFile: string;
  stateFile: string;
}

export interface SandboxVmSpec {
  id: string;
  stateDir: string;
  image: GuestImagePaths;
  memoryMiB: number;
  cpus: number;
  /** Host folders shared with the guest: tag -> host folder. */
  shares: { tag: string; hostDir: string }[];
  shareKind: 'virtiofs' | '9p';
  nfsForwards: readonly NfsForward[];
  /** Filesystem module groups this sandbox's volumes need (beyond its share kind and NFS), loaded first. */
  volumeModules?: readonly ModuleGroup[];
  /** Start from this saved VM template instead of booting (virtio-fs shares only). */
  template?: VmTemplate;
}

export interface SandboxVm extends BlockHotplug {
  readonly pid: number;
  /** The unix socket QEMU serves for the agent's virtio-serial port. */
  readonly agentSocket: string;
  /** The share kind actually used (virtio-fs falls back to 9p when virtiofsd cannot run). */
  readonly shareKind: 'virtiofs' | '9p';
  /** Which acceleration runs the guest: 'kvm' or 'tcg'. */
  readonly accel: string;
  /** Whether the guest was restored from a VM template (its clock needs setting) rather than booted. */
  readonly fromTemplate: boolean;
  /** Shares another host folder with the running guest (virtio-fs only: 9p devices cannot be hot-plugged). */
  addShare(tag: string, hostDir: string, options?: { announceSubmounts?: boolean }): Promise<void>;
  /** Hot-plugs guest network `network`, reaching the NFS servers of `forwards` only (until the VM ends). */
  addNetwork(network: GuestNetwork, forwards: readonly NfsForward[]): Promise<void>;
  /** Hot-plugs a NIC with `mac` on a tap named `tap`, which QEMU creates in the host's network namespace. */
  addPodNic(index: number, tap: string, mac: string): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the VM process exits, for any reason. */
  exited: Promise<void>;
}

export type LaunchVm = (spec: SandboxVmSpec) => Promise<SandboxVm>;
