// Stage "kernel": the Debian kernel package, unpacked into the cache (never installed), with depmod run on
// its modules (the .deb ships no modules.dep) and the ELF vmlinux extracted for direct PVH boot.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Exec } from '../common/exec.js';
import { downloadPackage, type KernelPackage } from './apt.js';
import { sha256File } from './hash.js';
import type { OnProgress } from './progress.js';
import { runCachedStage, type StageResult } from './stage-cache.js';
import { extractVmlinux } from './vmlinux.js';

/** Bump when the recipe below changes, so old cache entries are not reused. */
const RECIPE = 1;

const KernelMeta = z.object({
  package: z.string(),
  version: z.string(),
  release: z.string(),
  vmlinux: z.string(),
  vmlinuxSha256: z.string(),
  /** The unpacked package root: modules live under lib/modules/<release>. */
  root: z.string(),
});
export type KernelMeta = z.infer<typeof KernelMeta>;

export function kernelStage(o: { root: string; exec: Exec; pkg: KernelPackage; onProgress?: OnProgress }): Promise<StageResult<KernelMeta>> {
  return runCachedStage({
    root: o.root,
    stage: 'kernel',
    inputs: { recipe: RECIPE, package: o.pkg.name, version: o.pkg.version },
    meta: KernelMeta,
    onProgress: o.onProgress,
    describe: (m) => `${m.package} ${m.version}`,
    build: async (dir) => {
      const deb = await downloadPackage(o.exec, o.pkg, dir);
      await o.exec.run('dpkg-deb', ['-x', join(dir, deb), join(dir, 'root')], { timeoutMs: 300_000 });
      await rm(join(dir, deb));
      // Keep only what later stages read: the modules and the boot files.
      for (const entry of await readdir(join(dir, 'root'))) {
        if (entry !== 'lib' && entry !== 'boot') await rm(join(dir, 'root', entry), { recursive: true, force: true });
      }
      await o.exec.run('depmod', ['-b', join(dir, 'root'), o.pkg.release]);
      await extractVmlinux(join(dir, 'root', 'boot', `vmlinuz-${o.pkg.release}`), join(dir, 'vmlinux'));
      return {
        package: o.pkg.name,
        version: o.pkg.version,
        release: o.pkg.release,
        vmlinux: 'vmlinux',
        vmlinuxSha256: await sha256File(join(dir, 'vmlinux')),
        root: 'root',
      };
    },
  });
}
