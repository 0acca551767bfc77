// `passvol image build`: kernel -> modules -> initramfs, and agent bundle -> agent disk, each stage cached
// under <cache>/guest-image/<stage>-<hash>/ and rebuilt only when its inputs change; then manifest.json.
import { pruneStages } from './stage-prune.js';
import { access, mkdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { notFound } from '../common/errors.js';
import { systemExec, type Exec } from '../common/exec.js';
import { bundleAgent } from './agent-bundle.js';
import { agentDiskStage } from './agent-disk-stage.js';
import { releaseOf, resolveKernelPackage, type KernelPackage } from './apt.js';
import { resolveBuildOptions, REPO_ROOT, type BuildOptionsInput } from './build-options.js';
import { AGENT_DISK_SERIAL, AGENT_PORT_NAME, DEFAULT_CMDLINE } from './guest-layout.js';
import { sha256Hex } from './hash.js';
import { initramfsStage } from './initramfs-stage.js';
import { kernelStage } from './kernel-stage.js';
import { writeManifest, type Manifest } from './manifest.js';
import { modulesStage, type ModulesMeta } from './modules-stage.js';
import { collectNodeRuntime } from './node-runtime.js';
import type { OnProgress } from './progress.js';

export interface GuestImage {
  manifestPath: string;
  /** Artifact paths are absolute here. */
  manifest: Manifest;
  /** Stages that were built this time (the rest came from the cache). */
  built: string[];
}

export async function buildGuestImage(input: BuildOptionsInput = {}, onProgress: OnProgress = () => undefined, exec: Exec = systemExec): Promise<GuestImage> {
  const o = resolveBuildOptions(input);
  await access(o.agentEntry).catch(() => {
    throw notFound(`agent entry point ${o.agentEntry} does not exist: pass agentEntry`);
  });
  await mkdir(o.imageRoot, { recursive: true });
  const built: string[] = [];
  const note: OnProgress = (e) => {
    if (e.state === 'built') built.push(e.stage);
    onProgress(e);
  };

  const pkg: KernelPackage = o.kernelPackage
    ? { ...o.kernelPackage, release: releaseOf(o.kernelPackage.name) }
    : await resolveKernelPackage(exec);
  // The two chains run side by side; they meet at the modules, which the agent disk carries too.
  const kernelAndModules = (async () => {
    const kernel = await kernelStage({ root: o.imageRoot, exec, pkg, onProgress: note });
    const modules = await modulesStage({ root: o.imageRoot, exec, kernel, onProgress: note });
    return { kernel, modules };
  })();
  const guestSide = (async () => {
    const { kernel, modules } = await kernelAndModules;
    const initramfs = await initramfsStage({ root: o.imageRoot, exec, modules, busyboxPath: o.busyboxPath, onProgress: note });
    return { kernel, modules, initramfs };
  })();
  const agentSide = (async () => {
    const started = Date.now();
    note({ stage: 'agent-bundle', state: 'start' });
    const bundle = await bundleAgent(o.agentEntry, { minify: o.minifyAgent });
    note({ stage: 'agent-bundle', state: 'built', ms: Date.now() - started, detail: `${(bundle.code.length / 1024).toFixed(0)} KiB from ${relative(REPO_ROOT, o.agentEntry)}` });
    const snapshotBundle = o.snapshotEntry ? (await bundleAgent(o.snapshotEntry, { minify: o.minifyAgent, format: 'cjs' })).code : undefined;
    const runtime = await collectNodeRuntime(exec, o.nodePath, o.capsExecPath);
    if (!o.capsExecPath) note({ stage: 'agent-disk', state: 'start', detail: 'no capability helper (scripts/install-go-tools.sh builds it): root containers will keep every capability' });
    const { modules } = await kernelAndModules;
    const disk = await agentDiskStage({
      root: o.imageRoot,
      exec,
      runtime,
      bundle: bundle.code,
      ...(snapshotBundle ? { snapshotBundle } : {}),
      modules: { dir: join(modules.dir, modules.meta.dir), hash: modules.hash, files: backgroundModuleFiles(modules.meta) },
      onProgress: note,
    });
    return { bundle, snapshotBundle, disk };
  })();
  const [{ kernel, modules, initramfs }, { bundle, snapshotBundle, disk }] = await Promise.all([guestSide, agentSide]);

  const manifest: Manifest = {
    version: 1,
    kernel: {
      path: join(kernel.dir, kernel.meta.vmlinux),
      sha256: kernel.meta.vmlinuxSha256,
      bytes: await fileSize(join(kernel.dir, kernel.meta.vmlinux)),
      format: 'elf-vmlinux',
      release: kernel.meta.release,
      package: kernel.meta.package,
      packageVersion: kernel.meta.version,
    },
    initramfs: { path: join(initramfs.dir, initramfs.meta.file), sha256: initramfs.meta.sha256, bytes: initramfs.meta.bytes, format: 'cpio' },
    agentDisk: { path: join(disk.dir, disk.meta.file), sha256: disk.meta.sha256, bytes: disk.meta.bytes, format: 'ext4', serial: AGENT_DISK_SERIAL },
    agent: { entry: relative(REPO_ROOT, o.agentEntry), sha256: sha256Hex(bundle.code), ...(snapshotBundle && o.snapshotEntry ? { snapshot: { entry: relative(REPO_ROOT, o.snapshotEntry), sha256: sha256Hex(snapshotBundle) } } : {}) },
    agentPort: AGENT_PORT_NAME,
    cmdline: DEFAULT_CMDLINE,
    stages: { kernel: kernel.hash, modules: modules.hash, initramfs: initramfs.hash, 'agent-disk': disk.hash },
  };
  const manifestPath = join(o.imageRoot, o.manifestName);
  await writeManifest(manifestPath, manifest);
  note({ stage: 'manifest', state: 'built', detail: manifestPath });
  const pruned = await pruneStages(o.imageRoot);
  if (pruned.length) note({ stage: 'manifest', state: 'built', detail: `removed stages no manifest uses: ${pruned.join(', ')}` });
  return { manifestPath, manifest, built };
}

/** The group order files and every module a group names, each once. */
function backgroundModuleFiles(meta: ModulesMeta): string[] {
  const groups = Object.entries(meta.groups);
  return [...groups.map(([g]) => `${g}.order`), ...new Set(groups.flatMap(([, files]) => files ?? []))];
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
