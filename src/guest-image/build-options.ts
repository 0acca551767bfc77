// Options of an image build, parsed once at the edge (CLI flags, environment).
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { invalidArgument } from '../common/errors.js';

/** The repository root (this file is src/guest-image/ or dist/guest-image/). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The capability helper's name among the built tools. */
export const CAPS_EXEC_BINARY = 'passvol-caps-exec';
export const DEFAULT_AGENT_ENTRY = 'src/agent/main.ts';
export const DEFAULT_SNAPSHOT_ENTRY = 'src/agent/snapshot-main.ts';

export const BuildOptionsInput = z
  .object({
    /** Cache root; the image goes to `<cacheDir>/guest-image/`. Default $PASSVOL_CACHE_DIR or <repo>/.cache. */
    cacheDir: z.string().min(1).optional(),
    /** The agent's entry point, bundled with esbuild. Relative paths are taken from the repository root. */
    agentEntry: z.string().min(1).default(DEFAULT_AGENT_ENTRY),
    /**
     * The agent's startup-snapshot entry point (see src/agent/snapshot-main.ts); null for none. Default: the
     * agent's own when agentEntry is the default, none for any other agent (a test's placeholder).
     */
    snapshotEntry: z.string().min(1).nullable().optional(),
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
  snapshotEntry?: string;
  nodePath: string;
  busyboxPath?: string;
  kernelPackage?: { name: string; version: string };
  minifyAgent: boolean;
  manifestName: string;
  /** The agent's capability helper (src/agent/caps-exec/), when it was built. */
  capsExecPath?: string;
}

export function resolveBuildOptions(input: unknown, env: NodeJS.ProcessEnv = process.env): BuildOptions {
  const parsed = BuildOptionsInput.safeParse(input);
  if (!parsed.success) throw invalidArgument(`image build options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  const cacheDir = resolve(o.cacheDir ?? env.PASSVOL_CACHE_DIR ?? join(REPO_ROOT, '.cache'));
  const nodePath = o.nodePath ?? (existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath);
  const fromRepo = (p: string): string => (isAbsolute(p) ? p : join(REPO_ROOT, p));
  // scripts/install-go-tools.sh builds it among the Go tools.
  const capsExec = join(resolve(env.PASSVOL_TOOLS_DIR ?? join(REPO_ROOT, '.tools')), 'bin', CAPS_EXEC_BINARY);
  const snapshotEntry = o.snapshotEntry === undefined ? (o.agentEntry === DEFAULT_AGENT_ENTRY ? DEFAULT_SNAPSHOT_ENTRY : null) : o.snapshotEntry;
  return {
    imageRoot: join(cacheDir, 'guest-image'),
    agentEntry: fromRepo(o.agentEntry),
    ...(snapshotEntry ? { snapshotEntry: fromRepo(snapshotEntry) } : {}),
    nodePath,
    busyboxPath: o.busyboxPath,
    kernelPackage: o.kernelPackage,
    minifyAgent: o.minifyAgent,
    manifestName: o.manifestName,
    ...(existsSync(capsExec) ? { capsExecPath: capsExec } : {}),
  };
}
