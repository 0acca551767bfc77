// What containerd-shim-passvol-v2 is given: containerd's Go-style flags, and passvol's settings file
// (runtime options' ConfigPath, else $PASSVOL_SHIM_CONFIG, else /etc/passvol/containerd-shim.json when it
// exists) with the same names as `passvol create`'s flags.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

export const DEFAULT_SHIM_CONFIG = '/etc/passvol/containerd-shim.json';
const ShimConfig = z
  .object({
    root: z.string().optional(),
    runtimeRoot: z.string().optional(),
    goShimRoot: z.string().optional(),
    image: z.string().optional(),
    share: z.enum(['virtiofs', '9p']).optional(),
    memory: z.number().int().min(128).optional(),
    cpus: z.number().int().min(1).optional(),
    vmTemplates: z.string().optional(),
    logLevel: z.string().optional(),
  })
  .strict();
export type ShimConfig = z.infer<typeof ShimConfig>;

export function loadShimConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env, defaultPath = DEFAULT_SHIM_CONFIG): ShimConfig {
  const file = path ?? env.PASSVOL_SHIM_CONFIG ?? (existsSync(defaultPath) ? defaultPath : undefined);
  if (!file) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`shim config ${file}: ${(e as Error).message}`);
  }
  const r = ShimConfig.safeParse(raw);
  if (!r.success) throw new Error(`shim config ${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

const BOOLEAN_FLAGS = new Set(['debug', 'v']);
export const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Go's flag syntax: `-x v`, `--x v`, `-x=v`; booleans alone. Returns the flags, the action, and the flags as given. */
export function parseGoFlags(argv: readonly string[]): { flags: Record<string, string | boolean>; action: string | undefined; flagArgs: string[] } {
  const flags: Record<string, string | boolean> = {};
  const flagArgs: string[] = [];
  let action: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) {
      action = a;
      continue;
    }
    flagArgs.push(a);
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (eq >= 0) flags[name] = body.slice(eq + 1);
    else if (BOOLEAN_FLAGS.has(name)) flags[name] = true;
    else {
      const value = argv[++i];
      if (value === undefined) throw new Error(`flag -${name} needs a value`);
      flags[name] = value;
      flagArgs.push(value);
    }
  }
  return { flags, action, flagArgs };
}

