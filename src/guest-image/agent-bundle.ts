// The agent as one file, bundled with esbuild: ESM from its entry point (default src/agent/main.ts), and
// CommonJS from its snapshot entry (src/agent/snapshot-main.ts), because `node --build-snapshot` runs only
// a CommonJS script. Bundled CommonJS dependencies (pino) call require() for node builtins, which an ESM
// bundle lacks, hence the createRequire banner there.
import { build } from 'esbuild';
import { PassvolError } from '../common/errors.js';

const BANNER = "import { createRequire as __passvolCreateRequire } from 'node:module';\nconst require = __passvolCreateRequire(import.meta.url);";

export interface AgentBundle {
  code: Buffer;
  /** Source files that went into it, relative to the working directory (esbuild's metafile). */
  inputs: string[];
}

export async function bundleAgent(entry: string, o: { minify?: boolean; format?: 'esm' | 'cjs' } = {}): Promise<AgentBundle> {
  const format = o.format ?? 'esm';
  const outfile = format === 'esm' ? 'agent.mjs' : 'agent.cjs';
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format,
      write: false,
      outfile,
      minify: o.minify ?? true,
      legalComments: 'none',
      metafile: true,
      logLevel: 'silent',
      ...(format === 'esm' ? { banner: { js: BANNER } } : {}),
    });
    const out = result.outputFiles.find((f) => f.path.endsWith(outfile));
    if (!out) throw new Error(`esbuild wrote no ${outfile}`);
    return { code: Buffer.from(out.contents), inputs: Object.keys(result.metafile.inputs).sort() };
  } catch (e) {
    throw new PassvolError('PV_ERR_INTERNAL', `bundling the agent from ${entry} failed: ${(e as Error).message}`, { cause: e });
  }
}
