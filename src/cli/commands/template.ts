// `passvol template make|list|remove`: the VM templates that `--vm-templates DIR` starts sandboxes from.
// `make` is for node set-up (so the first sandbox does not pay the template's boot); list and remove
// are for operators (after an image or QEMU upgrade a stale template is discarded on its own anyway).
import { Command } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { createLogger } from '../../common/logger.js';
import { DEFAULT_TEMPLATE_ROOT, VmTemplates } from '../../runtime/sandbox/vm-templates.js';
import { parseFlags } from '../parse-flags.js';
import { logLevelHelp } from '../log-level.js';
import { runtimeDeps } from '../runtime-setup.js';

const MakeOptions = z.object({
  dir: z.string().min(1),
  image: z.string().min(1).optional(),
  memory: z.coerce.number().int().min(128).max(1024 * 1024),
  cpus: z.coerce.number().int().min(1).max(255),
  logLevel: z.string().optional(),
});

const folder = (dir: string) => VmTemplates.folder(resolve(dir), createLogger({ defaultLevel: 'warn' }));

export function templateCommand(): Command {
  const cmd = new Command('template').description('VM templates sandboxes start from with --vm-templates (needs root)');
  cmd
    .command('make')
    .description('boot and save the template for a sandbox shape (guest memory and CPUs), unless it exists')
    .option('--dir <dir>', 'templates folder (a tmpfs)', DEFAULT_TEMPLATE_ROOT)
    .option('--image <manifest>', 'guest image manifest (default: the one `passvol image build` made)')
    .option('--memory <MiB>', 'guest memory', '512')
    .option('--cpus <n>', 'guest CPUs', '1')
    .option('--log-level <level>', logLevelHelp('log level', 'info'))
    .action(async (raw) => {
      const o = parseFlags(MakeOptions, raw);
      const deps = await runtimeDeps({ vmTemplates: o.dir, ...(o.image ? { image: o.image } : {}) }, createLogger({ level: o.logLevel, defaultLevel: 'info' }));
      const templates = deps.templates as VmTemplates;
      await templates.forgetFailures();
      const started = Date.now();
      const t = await templates.get({ image: deps.image, memoryMiB: o.memory, cpus: o.cpus });
      process.stdout.write(`${t.dir} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    });
  cmd
    .command('list')
    .description('the templates in a folder (JSON)')
    .option('--dir <dir>', 'templates folder', DEFAULT_TEMPLATE_ROOT)
    .action(async (o: { dir: string }) => {
      process.stdout.write(`${JSON.stringify(await folder(o.dir).list(), null, 2)}\n`);
    });
  cmd
    .command('remove')
    .description('remove every template (running sandboxes keep their own copy of the RAM)')
    .option('--dir <dir>', 'templates folder', DEFAULT_TEMPLATE_ROOT)
    .action(async (o: { dir: string }) => {
      process.stdout.write(`removed ${await folder(o.dir).removeAll()}\n`);
    });
  return cmd;
}
