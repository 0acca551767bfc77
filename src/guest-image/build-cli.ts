// Entry point of scripts/build-guest-image.sh: flags -> options -> buildGuestImage, one progress line per
// stage event on stderr and the manifest path on stdout. `passvol image build` calls the same library.
import { parseArgs } from 'node:util';
import { isPassvolError, toPassvolError } from '../common/errors.js';
import { buildGuestImage } from './build-guest-image.js';
import { formatProgress } from './progress.js';

const USAGE = `usage: build-guest-image [--agent-entry FILE] [--snapshot-entry FILE | --no-snapshot] [--cache-dir DIR] [--node PATH] [--no-minify]
  --agent-entry FILE     the agent's entry point (default src/agent/main.ts)
  --snapshot-entry FILE  the agent's startup-snapshot entry point (default src/agent/snapshot-main.ts
                         with the default agent, none with another)
  --no-snapshot          no startup snapshot: the guest loads the agent bundle at each boot
  --cache-dir DIR     cache root (default $PASSVOL_CACHE_DIR, else <repo>/.cache)
  --node PATH         node binary to put in the guest (default /usr/bin/node)
  --no-minify         keep the agent bundle readable`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'agent-entry': { type: 'string' },
      'snapshot-entry': { type: 'string' },
      'no-snapshot': { type: 'boolean' },
      'cache-dir': { type: 'string' },
      node: { type: 'string' },
      'no-minify': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const started = Date.now();
  const image = await buildGuestImage(
    {
      agentEntry: values['agent-entry'],
      snapshotEntry: values['no-snapshot'] ? null : values['snapshot-entry'],
      cacheDir: values['cache-dir'],
      nodePath: values.node,
      minifyAgent: values['no-minify'] ? false : undefined,
    },
    (e) => process.stderr.write(`${formatProgress(e)}\n`),
  );
  const m = image.manifest;
  process.stderr.write(
    `[image] done in ${((Date.now() - started) / 1000).toFixed(1)} s: kernel ${(m.kernel.bytes / 1e6).toFixed(1)} MB, ` +
      `initramfs ${(m.initramfs.bytes / 1e6).toFixed(1)} MB, agent disk ${(m.agentDisk.bytes / 1e6).toFixed(0)} MB\n`,
  );
  process.stdout.write(`${image.manifestPath}\n`);
}

main().catch((e: unknown) => {
  const err = toPassvolError(e);
  process.stderr.write(`build-guest-image: ${err.message}${isPassvolError(e) ? '' : `\n${USAGE}`}\n`);
  process.exit(err.exitCode);
});
