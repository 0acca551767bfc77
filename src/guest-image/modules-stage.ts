// Stage "modules": the .ko files the guest needs, with their dependencies, in load order, decompressed
// (busybox insmod loads only plain .ko files; Debian 12 ships them plain, other kernels compress them), and
// without their appended signatures. The guest kernel hashes a signed module whole (SHA-256) and checks the
// signature at every load, which under TCG is emulated work on each boot; the signature proves nothing
// there, since the guest can load no module but these, from its read-only disks, built by this stage from
// the package apt verified. Unsigned, the kernel loads them (it enforces signatures only under lockdown) and
// marks itself tainted (E), which changes nothing else. Measured under TCG, 9 boots each, interleaved: /init
// to agent start 0.47 -> 0.34 s (the boot modules), agent ready 3.49 -> 3.33 s of guest uptime (medians).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { PassvolError } from '../common/errors.js';
import type { Exec } from '../common/exec.js';
import type { KernelMeta } from './kernel-stage.js';
import { BOOT_MODULES, MODULE_GROUP_MODULES, mergeLoadOrders, parseShowDepends } from './module-list.js';
import { MODULE_GROUPS, type ModuleGroup } from '../protocol/index.js';
import type { OnProgress } from './progress.js';
import { runCachedStage, type StageResult } from './stage-cache.js';

const RECIPE = 4;

const ModulesMeta = z.object({
  /** Folder (relative to the stage) holding the .ko files, boot.order and one <group>.order per group. */
  dir: z.string(),
  boot: z.array(z.string()),
  /** Each group's files in load order, dependencies included (boot modules excluded). */
  groups: z.record(z.enum(MODULE_GROUPS), z.array(z.string())),
});
export type ModulesMeta = z.infer<typeof ModulesMeta>;

export function modulesStage(o: {
  root: string;
  exec: Exec;
  kernel: StageResult<KernelMeta>;
  boot?: readonly string[];
  groups?: Readonly<Record<ModuleGroup, readonly string[]>>;
  onProgress?: OnProgress;
}): Promise<StageResult<ModulesMeta>> {
  const boot = o.boot ?? BOOT_MODULES;
  const groups = o.groups ?? MODULE_GROUP_MODULES;
  return runCachedStage({
    root: o.root,
    stage: 'modules',
    inputs: { recipe: RECIPE, kernel: o.kernel.hash, boot, groups },
    meta: ModulesMeta,
    onProgress: o.onProgress,
    describe: (m) => `${m.boot.length} at boot, then ${Object.entries(m.groups).map(([g, files]) => `${g} ${files.length}`).join(', ')}`,
    build: async (dir) => {
      const kernelRoot = join(o.kernel.dir, o.kernel.meta.root);
      const depends = async (name: string): Promise<string[]> => {
        const r = await o.exec.run('modprobe', ['-d', kernelRoot, '-S', o.kernel.meta.release, '--show-depends', name]);
        return parseShowDepends(r.stdout);
      };
      const bootFiles = mergeLoadOrders(await Promise.all(boot.map(depends)));
      const out = join(dir, 'modules');
      await mkdir(out);
      const copied = new Set<string>();
      const copy = async (file: string): Promise<string> => {
        const name = plainName(file);
        if (!copied.has(file)) {
          copied.add(file);
          await writeModule(file, join(out, name), o.exec);
        }
        return name;
      };
      const bootNames: string[] = [];
      for (const f of bootFiles) bootNames.push(await copy(f));
      await writeFile(join(out, 'boot.order'), bootNames.join('\n') + '\n');
      const groupNames = {} as Record<ModuleGroup, string[]>;
      for (const group of MODULE_GROUPS) {
        const files = mergeLoadOrders(await Promise.all(groups[group].map(depends)), new Set(bootFiles));
        const names: string[] = [];
        for (const f of files) names.push(await copy(f));
        groupNames[group] = names;
        await writeFile(join(out, `${group}.order`), names.join('\n') + '\n');
      }
      return { dir: 'modules', boot: bootNames, groups: groupNames };
    },
  });
}

export const plainName = (file: string): string => basename(file).replace(/\.ko\.(xz|zst|gz)$/, '.ko');

const SIGNATURE_MARKER = Buffer.from('~Module signature appended~\n');
/** struct module_signature, between the signature and the marker; its last field is the signature's length. */
const SIGNATURE_INFO_BYTES = 12;

/** The module without its appended signature; an unsigned module comes back as it is. */
export function stripModuleSignature(ko: Buffer): Buffer {
  const markerAt = ko.length - SIGNATURE_MARKER.length;
  if (markerAt < SIGNATURE_INFO_BYTES || !ko.subarray(markerAt).equals(SIGNATURE_MARKER)) return ko;
  const infoAt = markerAt - SIGNATURE_INFO_BYTES;
  const end = infoAt - ko.readUInt32BE(infoAt + 8);
  if (end <= 0) throw new PassvolError('PV_ERR_INTERNAL', 'a module signature claims to be longer than its module');
  return ko.subarray(0, end);
}

/** Writes the module plain and unsigned: read (or decompressed) once, written once. */
async function writeModule(from: string, to: string, exec: Exec): Promise<void> {
  await writeFile(to, stripModuleSignature(await plainModule(from, to, exec)));
}

/** The module's plain bytes; the external decompressors leave them at `scratch` on the way. */
async function plainModule(from: string, scratch: string, exec: Exec): Promise<Buffer> {
  if (from.endsWith('.ko')) return readFile(from);
  if (from.endsWith('.ko.gz')) return gunzipSync(await readFile(from));
  if (from.endsWith('.ko.xz')) {
    await exec.run('sh', ['-c', 'xz -dc -- "$1" > "$2"', 'sh', from, scratch]);
    return readFile(scratch);
  }
  if (from.endsWith('.ko.zst')) {
    await exec.run('zstd', ['-d', '-q', '-f', from, '-o', scratch]);
    return readFile(scratch);
  }
  throw new PassvolError('PV_ERR_INTERNAL', `unknown module compression: ${from}`);
}
