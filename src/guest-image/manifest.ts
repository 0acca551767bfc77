// manifest.json: what a runtime needs to boot the guest image. Paths are relative to the manifest's folder
// (the cache can move); readManifest resolves them. Hashes are sha256 of each file's bytes.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { z } from 'zod';
import { PassvolError } from '../common/errors.js';

export const MANIFEST_FILE = 'manifest.json';

const Artifact = z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() });

export const Manifest = z.object({
  version: z.literal(1),
  kernel: Artifact.extend({ format: z.literal('elf-vmlinux'), release: z.string(), package: z.string(), packageVersion: z.string() }),
  // 'cpio-gzip' is what images built before 2026-12 have; the kernel takes either.
  initramfs: Artifact.extend({ format: z.enum(['cpio', 'cpio-gzip']) }),
  agentDisk: Artifact.extend({ format: z.literal('ext4'), serial: z.string() }),
  /** The agent's bundle, and the bundle its startup snapshot was made from when the disk has one. */
  agent: z.object({ entry: z.string(), sha256: z.string(), snapshot: z.object({ entry: z.string(), sha256: z.string() }).optional() }),
  agentPort: z.string(),
  cmdline: z.string(),
  stages: z.record(z.string(), z.string()),
});
export type Manifest = z.infer<typeof Manifest>;

/** Writes atomically (temp file + rename); artifact paths are stored relative to the manifest. */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  const base = dirname(path);
  const rel = (p: string): string => (isAbsolute(p) ? relative(base, p) : p);
  const stored: Manifest = {
    ...manifest,
    kernel: { ...manifest.kernel, path: rel(manifest.kernel.path) },
    initramfs: { ...manifest.initramfs, path: rel(manifest.initramfs.path) },
    agentDisk: { ...manifest.agentDisk, path: rel(manifest.agentDisk.path) },
  };
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(stored, null, 2) + '\n');
  await rename(tmp, path);
}

/** Reads and checks a manifest; artifact paths come back absolute. */
export async function readManifest(path: string): Promise<Manifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new PassvolError('PV_ERR_NOT_FOUND', `no readable guest image manifest at ${path}: run \`passvol image build\``, { cause: e });
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) throw new PassvolError('PV_ERR_CORRUPT_RECORD', `${path} is not a guest image manifest: ${parsed.error.issues[0]?.message}`);
  const base = dirname(path);
  const abs = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  const m = parsed.data;
  return { ...m, kernel: { ...m.kernel, path: abs(m.kernel.path) }, initramfs: { ...m.initramfs, path: abs(m.initramfs.path) }, agentDisk: { ...m.agentDisk, path: abs(m.agentDisk.path) } };
}
