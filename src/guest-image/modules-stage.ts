// Stage "modules": the .ko files the guest needs, with their dependencies, in load order, decompressed
// (busybox insmod loads only plain .ko files; Debian 12 ships them plain, other kernels compress them).
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { PassvolError } from '../common/errors.js';
import type { Exec } from '../common/exec.js';
import type { KernelMeta } from './kernel-stage.js';
import { BOOT_MODULES, LATE_MODULES, REST_MODULES, mergeLoadOrders, parseShowDepends } from './module-list.js';
import type { OnProgress } from './progress.js';
import { runCachedStage, type StageResult } from './stage-cache.js';

const RECIPE = 2;

const ModulesMeta = z.object({
  /** Folder (relative to the stage) holding the .ko files and boot.order / late.order / rest.order. */
  dir: z.string(),
  boot: z.array(z.string()),
  late: z.array(z.string()),
  rest: z.array(z.string()),
});
export type ModulesMeta = z.infer<typeof ModulesMeta>;

export function modulesStage(o: {
  root: string;
  exec: Exec;
  kernel: StageResult<KernelMeta>;
  boot?: readonly string[];
  late?: readonly string[];
  rest?: readonly string[];
  onProgress?: OnProgress;
}): Promise<StageResult<ModulesMeta>> {
  const boot = o.boot ?? BOOT_MODULES;
  const late = o.late ?? LATE_MODULES;
  const rest = o.rest ?? REST_MODULES;
  return runCachedStage({
    root: o.root,
    stage: 'modules',
    inputs: { recipe: RECIPE, kernel: o.kernel.hash, boot, late, rest },
    meta: ModulesMeta,
    onProgress: o.onProgress,
    describe: (m) => `${m.boot.length} at boot + ${m.late.length} late + ${m.rest.length} last`,
    build: async (dir) => {
      const kernelRoot = join(o.kernel.dir, o.kernel.meta.root);
      const depends = async (name: string): Promise<string[]> => {
        const r = await o.exec.run('modprobe', ['-d', kernelRoot, '-S', o.kernel.meta.release, '--show-depends', name]);
        return parseShowDepends(r.stdout);
      };
      const bootFiles = mergeLoadOrders(await Promise.all(boot.map(depends)));
      const lateFiles = mergeLoadOrders(await Promise.all(late.map(depends)), new Set(bootFiles));
      const restFiles = mergeLoadOrders(await Promise.all(rest.map(depends)), new Set([...bootFiles, ...lateFiles]));
      const out = join(dir, 'modules');
      await mkdir(out);
      const copy = async (file: string): Promise<string> => {
        const name = plainName(file);
        await writeModule(file, join(out, name), o.exec);
        return name;
      };
      const bootNames = await Promise.all(bootFiles.map(copy));
      const lateNames = await Promise.all(lateFiles.map(copy));
      const restNames = await Promise.all(restFiles.map(copy));
      await writeFile(join(out, 'boot.order'), bootNames.join('\n') + '\n');
      await writeFile(join(out, 'late.order'), lateNames.join('\n') + '\n');
      await writeFile(join(out, 'rest.order'), restNames.join('\n') + '\n');
      return { dir: 'modules', boot: bootNames, late: lateNames, rest: restNames };
    },
  });
}

export const plainName = (file: string): string => basename(file).replace(/\.ko\.(xz|zst|gz)$/, '.ko');

async function writeModule(from: string, to: string, exec: Exec): Promise<void> {
  if (from.endsWith('.ko')) return copyFile(from, to);
  if (from.endsWith('.ko.gz')) return writeFile(to, gunzipSync(await readFile(from)));
  if (from.endsWith('.ko.xz')) {
    await exec.run('sh', ['-c', 'xz -dc -- "$1" > "$2"', 'sh', from, to]);
    return;
  }
  if (from.endsWith('.ko.zst')) {
    await exec.run('zstd', ['-d', '-q', '-f', from, '-o', to]);
    return;
  }
  throw new PassvolError('PV_ERR_INTERNAL', `unknown module compression: ${from}`);
}
