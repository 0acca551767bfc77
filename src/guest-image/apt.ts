// Which Debian kernel to boot: the package the `linux-image-amd64` meta package depends on (its candidate
// version), fetched with `apt-get download` and unpacked with `dpkg-deb -x` into the cache. Nothing is
// installed into the host's /boot.
import { failedPrecondition } from '../common/errors.js';
import type { Exec } from '../common/exec.js';

export const KERNEL_META_PACKAGE = 'linux-image-amd64';

export interface KernelPackage {
  /** e.g. linux-image-6.1.0-56-amd64 */
  name: string;
  /** Debian version, e.g. 6.1.192-2 */
  version: string;
  /** The kernel release (`uname -r` in the guest), e.g. 6.1.0-56-amd64 */
  release: string;
}

/** The first `linux-image-<release>` a meta package depends on, from `apt-cache depends` output. */
export function parseKernelDependency(dependsOutput: string): string | undefined {
  const m = /^\s*Depends:\s*(linux-image-[0-9][^\s:]*)/m.exec(dependsOutput);
  return m?.[1];
}

/** The Version field of the first stanza of `apt-cache show --no-all-versions` output. */
export function parsePackageVersion(showOutput: string): string | undefined {
  return /^Version:\s*(\S+)/m.exec(showOutput)?.[1];
}

export const releaseOf = (packageName: string): string => packageName.replace(/^linux-image-/, '');

export async function resolveKernelPackage(exec: Exec): Promise<KernelPackage> {
  const tryResolve = async (): Promise<KernelPackage | undefined> => {
    const deps = await exec.run('apt-cache', ['depends', KERNEL_META_PACKAGE], { okCodes: [100] });
    const name = parseKernelDependency(deps.stdout);
    if (!name) return undefined;
    const show = await exec.run('apt-cache', ['show', '--no-all-versions', name], { okCodes: [100] });
    const version = parsePackageVersion(show.stdout);
    return version ? { name, version, release: releaseOf(name) } : undefined;
  };
  const found = (await tryResolve()) ?? (await aptUpdate(exec).then(tryResolve));
  if (!found) {
    throw failedPrecondition(`apt knows no ${KERNEL_META_PACKAGE}: check /etc/apt/sources.list and run apt-get update`);
  }
  return found;
}

async function aptUpdate(exec: Exec): Promise<void> {
  await exec.run('apt-get', ['update', '-qq'], { timeoutMs: 300_000 });
}

/** Downloads the .deb into `dir` (cwd) and returns its file name. */
export async function downloadPackage(exec: Exec, pkg: KernelPackage, dir: string): Promise<string> {
  // apt-get download writes into the current directory; run it through a shell only for the `cd`.
  await exec.run('sh', ['-c', 'cd "$1" && exec apt-get download -q "$2"', 'sh', dir, `${pkg.name}=${pkg.version}`], { timeoutMs: 600_000 });
  const listing = await exec.run('sh', ['-c', 'cd "$1" && ls -1 -- *.deb', 'sh', dir]);
  const deb = listing.stdout.trim().split('\n')[0];
  if (!deb) throw failedPrecondition(`apt-get download ${pkg.name}=${pkg.version} left no .deb in ${dir}`);
  return deb;
}
