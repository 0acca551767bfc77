// The sandbox's VM port implemented with the hypervisor port (QEMU): maps a sandbox's needs (image,
// shares, NFS forwards) to a VmSpec, and falls back from virtio-fs to 9p when virtio-fs cannot start.
import { join } from 'node:path';
import { PassvolError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { Hypervisor, NetForward, RunningVm, ShareKind } from '../hypervisor.js';
import { MOUNT_PORT, NFS_PORT, type NfsForward } from '../volumes/nfs-forwarding.js';
import type { LaunchVm, SandboxVm, SandboxVmSpec } from './sandbox-vm.js';
import type { MakeTemplate } from './vm-templates.js';
import { agentSocketPath } from './sandbox-dir.js';
import { GUEST_MODULES_ARG, type ModuleGroup } from '../../protocol/index.js';

/** What QEMU forwards for an NFS server: its NFS and MOUNT ports, from the guest address to the host's. */
const toNetForward = (f: NfsForward): NetForward => ({ guestAddress: f.guestAddress, host: f.hostAddress, ports: [NFS_PORT, MOUNT_PORT] });

function wrap(vm: RunningVm, shareKind: ShareKind): SandboxVm {
  return {
    pid: vm.pid,
    agentSocket: vm.agentSocket,
    shareKind,
    accel: vm.accel,
    fromTemplate: vm.fromTemplate,
    hotplugBlock: async (o) => {
      await vm.hotplugBlock(o);
    },
    unplugBlock: (id) => vm.unplugBlock(id),
    resizeBlock: (id, bytes) => vm.resizeBlock(id, bytes),
    addShare: (tag, hostDir, options) => {
      if (shareKind !== 'virtiofs') throw new PassvolError('PV_ERR_FAILED_PRECONDITION', 'this sandbox shares over 9p, whose devices cannot be hot-plugged: it holds one container');
      return vm.addShare(tag, hostDir, options);
    },
    addNetwork: (network, forwards) => vm.addNetwork(network, forwards.map(toNetForward)),
    addPodNic: (index, tap, mac) => vm.addPodNic(index, tap, mac),
    stop: () => vm.stop(),
    exited: vm.wait().then(() => undefined),
  };
}

/**
 * The guest's module groups this sandbox needs, most urgent first: its shares (the rootfs mount waits for
 * them), NFS when it has NAS volumes, then what its disks need. The guest loads the others after these.
 */
export function moduleGroupsFor(shareKind: ShareKind, spec: Pick<SandboxVmSpec, 'nfsForwards' | 'volumeModules'>): ModuleGroup[] {
  const groups: ModuleGroup[] = [shareKind === '9p' ? '9p' : 'virtiofs'];
  if (spec.nfsForwards.length > 0) groups.push('nfs');
  for (const g of spec.volumeModules ?? []) if (!groups.includes(g)) groups.push(g);
  return groups;
}

export function qemuLauncher(hypervisor: Hypervisor, log: Logger): LaunchVm {
  return async (spec: SandboxVmSpec) => {
    const start = (kind: ShareKind) =>
      hypervisor.start({
        name: `passvol-${spec.id}`,
        kernel: spec.image.kernel,
        initrd: spec.image.initrd,
        cmdline: `${spec.image.cmdline} ${GUEST_MODULES_ARG}=${moduleGroupsFor(kind, spec).join(',')}`,
        memoryMiB: spec.memoryMiB,
        cpus: spec.cpus,
        agentDisk: spec.image.agentDisk,
        agentDiskSerial: spec.image.agentDiskSerial,
        agentPort: { name: spec.image.agentPortName, socketPath: agentSocketPath(spec.stateDir) },
        shares: spec.shares.map((s) => ({ kind, tag: s.tag, hostDir: s.hostDir })),
        nfsForwards: spec.nfsForwards.map(toNetForward),
        stateDir: join(spec.stateDir, 'vm'),
        ...(spec.template ? { memory: { kind: 'clone' as const, file: spec.template.memoryFile, state: spec.template.stateFile } } : {}),
      });
    // A clone is all or nothing: the sandbox boots instead if it fails (its devices are the template's).
    if (spec.template) return wrap(await start('virtiofs'), 'virtiofs');
    if (spec.shareKind === '9p') return wrap(await start('9p'), '9p');
    try {
      return wrap(await start('virtiofs'), 'virtiofs');
    } catch (e) {
      // A state folder too deep for QEMU's sockets is the caller's to fix, not a reason to fall back.
      if (/socket path too long/.test((e as Error).message)) throw e;
      log.warn({ sandbox: spec.id, err: (e as Error).message }, 'virtio-fs could not start; sharing over 9p instead');
      return wrap(await start('9p'), '9p');
    }
  };
}

/** Makes VM templates with the same machine as qemuLauncher's sandboxes, minus shares and network. */
export function qemuTemplateMaker(hypervisor: Hypervisor): MakeTemplate {
  return async (build, ready) => {
    const { image, memoryMiB, cpus } = build.shape;
    const vm = await hypervisor.start({
      name: build.name,
      kernel: image.kernel,
      initrd: image.initrd,
      // The rootfs share's module first; init loads the rest before the template is saved.
      cmdline: `${image.cmdline} ${GUEST_MODULES_ARG}=virtiofs`,
      memoryMiB,
      cpus,
      agentDisk: image.agentDisk,
      agentDiskSerial: image.agentDiskSerial,
      agentPort: { name: image.agentPortName, socketPath: build.agentSocket },
      stateDir: build.stateDir,
      memory: { kind: 'template', file: build.memoryFile },
    });
    try {
      await ready(vm.agentSocket);
      await vm.saveTemplate(build.stateFile);
    } finally {
      await vm.stop();
    }
  };
}
