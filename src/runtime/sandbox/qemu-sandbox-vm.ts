// The sandbox's VM port implemented with the hypervisor port (QEMU): maps a sandbox's needs (image,
// shares, NFS forwards) to a VmSpec, and falls back from virtio-fs to 9p when virtio-fs cannot start.
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import type { Hypervisor, RunningVm, ShareKind } from '../hypervisor.js';
import { MOUNT_PORT, NFS_PORT } from '../volumes/nfs-forwarding.js';
import type { LaunchVm, SandboxVm, SandboxVmSpec } from './sandbox-vm.js';

function wrap(vm: RunningVm, shareKind: ShareKind): SandboxVm {
  return {
    pid: vm.pid,
    agentSocket: vm.agentSocket,
    shareKind,
    accel: vm.accel,
    hotplugBlock: async (o) => {
      await vm.hotplugBlock(o);
    },
    unplugBlock: (id) => vm.unplugBlock(id),
    resizeBlock: (id, bytes) => vm.resizeBlock(id, bytes),
    stop: () => vm.stop(),
    exited: vm.wait().then(() => undefined),
  };
}

export function qemuLauncher(hypervisor: Hypervisor, log: Logger): LaunchVm {
  return async (spec: SandboxVmSpec) => {
    const start = (kind: ShareKind) =>
      hypervisor.start({
        name: `passvol-${spec.id}`,
        kernel: spec.image.kernel,
        initrd: spec.image.initrd,
        cmdline: spec.image.cmdline,
        memoryMiB: spec.memoryMiB,
        cpus: spec.cpus,
        agentDisk: spec.image.agentDisk,
        agentDiskSerial: spec.image.agentDiskSerial,
        agentPort: { name: spec.image.agentPortName, socketPath: join(spec.stateDir, 'agent.sock') },
        shares: spec.shares.map((s) => ({ kind, tag: s.tag, hostDir: s.hostDir })),
        nfsForwards: spec.nfsForwards.map((f) => ({ guestAddress: f.guestAddress, host: f.hostAddress, ports: [NFS_PORT, MOUNT_PORT] })),
        stateDir: join(spec.stateDir, 'vm'),
      });
    if (spec.shareKind === '9p') return wrap(await start('9p'), '9p');
    try {
      return wrap(await start('virtiofs'), 'virtiofs');
    } catch (e) {
      log.warn({ sandbox: spec.id, err: (e as Error).message }, 'virtio-fs could not start; sharing over 9p instead');
      return wrap(await start('9p'), '9p');
    }
  };
}
