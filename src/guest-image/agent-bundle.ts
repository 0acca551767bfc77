// The agent as one ESM file, bundled with esbuild from its entry point (default src/agent/main.ts).
// Bundled CommonJS dependencies (pino) call require() for node builtins, which an ESM bundle lacks, hence
// the createRequire banner.
import { build } from 'esbuild';
import { PassvolError } from '../common/errors.js';

const BANNER = "import { createRequire as __passvolCreateRequire } from 'node:module';\nconst require = __passvolCreateRequire(import.meta.url);";

export interface AgentBundle {
  code: Buffer;
  /** Source files that went into it, relative to the working directory (esbuild's metafile). */
  inputs: string[];
}

export async function bundleAgent(entry: string, o: { minify?: boolean } = {}): Promise<AgentBundle> {
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      write: false,
      outfile: 'agent.mjs',
      minify: o.minify ?? true,
      legalComments: 'none',
      metafile: true,
      logLevel: 'silent',
      banner: { js: BANNER },
    });
    const out = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
    if (!out) throw new Error('esbuild wrote no agent.mjs');
    return { code: Buffer.from(out.contents), inputs: Object.keys(result.metafile.inputs).sort() };
  } catch (e) {
    throw new PassvolError('PV_ERR_INTERNAL', `bundling the agent from ${entry} failed: ${(e as Error).message}`, { cause: e });
  }
}
