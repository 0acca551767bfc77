// Options of an image build, parsed once at the edge (CLI flags, environment).
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { invalidArgument } from '../common/errors.js';

/** The repository root (this file is src/guest-image/ or dist/guest-image/). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEFAULT_AGENT_ENTRY = 'src/agent/main.ts';

export const BuildOptionsInput = z
  .object({
    /** Cache root; the image goes to `<cacheDir>/guest-image/`. Default $PASSVOL_CACHE_DIR or <repo>/.cache. */
    cacheDir: z.string().min(1).optional(),
    /** The agent's entry point, bundled with esbuild. Relative paths are taken from the repository root. */
    agentEntry: z.string().min(1).default(DEFAULT_AGENT_ENTRY),
    /** The node binary copied into the guest (with its libraries). */
    nodePath: z.string().min(1).optional(),
    busyboxPath: z.string().min(1).optional(),
    /** Pin the kernel package instead of following linux-image-amd64. */
    kernelPackage: z
      .object({ name: z.string().regex(/^linux-image-[0-9][A-Za-z0-9.+-]*$/), version: z.string().regex(/^[A-Za-z0-9.+:~-]+$/) })
      .strict()
      .optional(),
    minifyAgent: z.boolean().default(true),
    /** File name of the manifest in the image folder, so a test image does not replace the default one. */
    manifestName: z.string().regex(/^[A-Za-z0-9_.-]+\.json$/).default('manifest.json'),
  })
  .strict();
export type BuildOptionsInput = z.input<typeof BuildOptionsInput>;

export interface BuildOptions {
  imageRoot: string;
  agentEntry: string;
  nodePath: string;
  busyboxPath?: string;
  kernelPackage?: { name: string; version: string };
  minifyAgent: boolean;
  manifestName: string;
}

export function resolveBuildOptions(input: unknown, env: NodeJS.ProcessEnv = process.env): BuildOptions {
  const parsed = BuildOptionsInput.safeParse(input);
  if (!parsed.success) throw invalidArgument(`image build options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  const cacheDir = resolve(o.cacheDir ?? env.PASSVOL_CACHE_DIR ?? join(REPO_ROOT, '.cache'));
  const nodePath = o.nodePath ?? (existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath);
  return {
    imageRoot: join(cacheDir, 'guest-image'),
    agentEntry: isAbsolute(o.agentEntry) ? o.agentEntry : join(REPO_ROOT, o.agentEntry),
    nodePath,
    busyboxPath: o.busyboxPath,
    kernelPackage: o.kernelPackage,
    minifyAgent: o.minifyAgent,
    manifestName: o.manifestName,
  };
}
