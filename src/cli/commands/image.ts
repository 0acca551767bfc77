// `passvol image build`: the guest kernel, initramfs and agent disk, cached by content, with progress.
import { Command } from 'commander';
import { buildGuestImage } from '../../guest-image/build-guest-image.js';
import { formatProgress } from '../../guest-image/progress.js';

export function imageCommand(): Command {
  const image = new Command('image').description('the guest image sandboxes boot');
  image
    .command('build')
    .description('build (or reuse from the cache) the guest kernel, initramfs and agent disk')
    .option('--cache-dir <dir>', 'cache root (default $PASSVOL_CACHE_DIR or <repo>/.cache)')
    .action(async (o: { cacheDir?: string }) => {
      const started = Date.now();
      const r = await buildGuestImage(o.cacheDir ? { cacheDir: o.cacheDir } : {}, (e) => process.stderr.write(`${formatProgress(e)}\n`));
      process.stdout.write(`${r.manifestPath}\n`);
      process.stderr.write(`[image] ready in ${((Date.now() - started) / 1000).toFixed(1)} s (built: ${r.built.join(', ') || 'nothing, all cached'})\n`);
    });
  return image;
}
