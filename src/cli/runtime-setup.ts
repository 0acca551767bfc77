// What every runtime command builds from its flags: stores, the guest image, the hypervisor.
import { join, resolve } from 'node:path';
import { systemExec } from '../common/exec.js';
import type { Logger } from '../common/logger.js';
import { DEFAULT_GO_SHIM_ROOT, RecordStore, resolveDirectVolumeRoot } from '../directvolume/index.js';
import { resolveBuildOptions } from '../guest-image/build-options.js';
import { readManifest } from '../guest-image/manifest.js';
import { QemuHypervisor } from '../runtime/qemu/qemu-vm.js';
import { qemuLauncher, qemuTemplateMaker } from '../runtime/sandbox/qemu-sandbox-vm.js';
import { DEFAULT_TEMPLATE_ROOT, VmTemplates } from '../runtime/sandbox/vm-templates.js';
import { DEFAULT_RUNTIME_ROOT, SandboxDirs } from '../runtime/sandbox/sandbox-dir.js';
import type { SandboxDeps } from '../runtime/sandbox/sandbox.js';
import type { BlockBackendSettings } from '../runtime/hypervisor.js';

export interface RuntimeFlags {
  root?: string;
  runtimeRoot?: string;
  goShimRoot?: string;
  image?: string;
  share?: 'virtiofs' | '9p';
  memory?: string;
  cpus?: string;
  blockBackend?: Partial<BlockBackendSettings>;
  /** Folder of VM templates: set, sandboxes start from templates (see runtime/sandbox/vm-templates.ts). */
  vmTemplates?: string;
}

export const VM_TEMPLATES_HELP = `start sandboxes from VM templates kept in this folder (a tmpfs; made on first use, ${DEFAULT_TEMPLATE_ROOT} is the usual): a ready agent in ~0.8 s instead of a 5-6.5 s boot under TCG, but clones share the template's kernel layout (see docs/operations.md)`;

export async function runtimeDeps(o: RuntimeFlags, log: Logger): Promise<SandboxDeps> {
  const manifestPath = o.image ?? join(resolveBuildOptions({}).imageRoot, 'manifest.json');
  const m = await readManifest(manifestPath);
  const hypervisor = new QemuHypervisor({ log });
  return {
    records: new RecordStore(resolveDirectVolumeRoot(o.root)),
    dirs: new SandboxDirs(o.runtimeRoot ?? DEFAULT_RUNTIME_ROOT),
    launchVm: qemuLauncher(hypervisor, log),
    exec: systemExec,
    log,
    image: { kernel: m.kernel.path, initrd: m.initramfs.path, agentDisk: m.agentDisk.path, agentDiskSerial: m.agentDisk.serial, agentPortName: m.agentPort, cmdline: m.cmdline },
    goShimRoot: o.goShimRoot ?? process.env.PASSVOL_GO_SHIM_ROOT ?? DEFAULT_GO_SHIM_ROOT,
    ...(o.share ? { shareKind: o.share } : {}),
    ...(o.memory ? { memoryMiB: Number(o.memory) } : {}),
    ...(o.cpus ? { cpus: Number(o.cpus) } : {}),
    ...(o.blockBackend ? { blockBackend: o.blockBackend } : {}),
    ...(o.vmTemplates ? { templates: new VmTemplates({ root: resolve(o.vmTemplates), make: qemuTemplateMaker(hypervisor), log: log.child({ part: 'templates' }) }) } : {}),
  };
}
