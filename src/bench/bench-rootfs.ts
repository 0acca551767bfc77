// What the I/O benchmark runs its workloads with, on the host and in the sandboxes alike: busybox (its sh,
// tar, rm, ...) and the host's fio with its libraries, laid out as a container rootfs and as a folder of
// host commands; and the source tarball the untar workload unpacks, made reproducibly from npm packages
// the project installs anyway (same bytes on every machine with the same package-lock).
import { copyFile, mkdir, readdir, realpath, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { failedPrecondition } from '../common/errors.js';
import type { Exec } from '../common/exec.js';
import { sharedLibraries } from '../common/shared-libraries.js';

const BUSYBOX = '/bin/busybox';
const FIO = '/usr/bin/fio';
const APPLETS = ['sh', 'head', 'tr', 'rm', 'mkdir', 'cp', 'tar', 'sync', 'sleep', 'cat', 'echo', 'mount', 'df', 'ls', 'true'];

/** npm packages whose files make the tarball: ~3,600 files, ~32 MB of JavaScript, JSON and typings. */
export const TARBALL_PACKAGES = ['@kubernetes/client-node', 'eslint', 'zod', '@typescript-eslint'] as const;
/** A smaller one for --quick runs. */
export const QUICK_TARBALL_PACKAGES = ['zod'] as const;

export interface BenchTools {
  /** The container rootfs (busybox at /bin, fio at /usr/bin, the tarball at /bench/src.tar). */
  rootfs: string;
  /** Folder of host commands: busybox applets and fio, so the host runs the very same programs. */
  hostBin: string;
  tarball: { hostPath: string; guestPath: string; files: number; bytes: number };
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) n += e.isDirectory() ? await countFiles(join(dir, e.name)) : 1;
  return n;
}

async function placeBinary(exec: Exec, rootfs: string, binary: string): Promise<void> {
  for (const file of [binary, ...(await sharedLibraries(exec, binary))]) {
    const dest = join(rootfs, file);
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(await realpath(file), dest);
  }
}

export async function buildBenchTools(dir: string, exec: Exec, packages: readonly string[], nodeModules: string): Promise<BenchTools> {
  for (const tool of [BUSYBOX, FIO]) {
    if (!(await stat(tool).catch(() => undefined))) throw failedPrecondition(`${tool} is missing: install busybox-static and fio (scripts/setup.sh)`);
  }
  const rootfs = join(dir, 'rootfs');
  const hostBin = join(dir, 'host-bin');
  await rm(dir, { recursive: true, force: true });
  for (const d of ['bin', 'usr/bin', 'proc', 'dev', 'tmp', 'bench']) await mkdir(join(rootfs, d), { recursive: true });
  await mkdir(hostBin, { recursive: true });
  await copyFile(BUSYBOX, join(rootfs, 'bin/busybox'));
  for (const a of APPLETS) {
    await symlink('busybox', join(rootfs, 'bin', a));
    await symlink(BUSYBOX, join(hostBin, a));
  }
  await placeBinary(exec, rootfs, FIO);
  await symlink(FIO, join(hostBin, 'fio'));

  for (const p of packages) {
    if (!(await stat(join(nodeModules, p)).catch(() => undefined))) throw failedPrecondition(`npm package ${p} is not installed in ${nodeModules}: run npm ci`);
  }
  const tarball = join(rootfs, 'bench/src.tar');
  // Sorted names, fixed owner and times: the same packages always give the same bytes.
  await exec.run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', tarball, '-C', nodeModules, ...packages], { timeoutMs: 300_000 });
  let files = 0;
  for (const p of packages) files += await countFiles(join(nodeModules, p));
  return { rootfs, hostBin, tarball: { hostPath: tarball, guestPath: '/bench/src.tar', files, bytes: (await stat(tarball)).size } };
}
