// `passvol gc`: clean up sandboxes whose runtime is gone (VM, bindings, sockets), never data.
import { Command } from 'commander';
import { createLogger } from '../../common/logger.js';
import { RecordStore, resolveDirectVolumeRoot } from '../../directvolume/index.js';
import { SandboxDirs, DEFAULT_RUNTIME_ROOT } from '../../runtime/sandbox/sandbox-dir.js';
import { cleanupOrphans } from '../../runtime/sandbox/orphan-cleanup.js';
import { DEFAULT_TEMPLATE_ROOT, VmTemplates } from '../../runtime/sandbox/vm-templates.js';

export function gcCommand(): Command {
  return new Command('gc')
    .description('clean up what crashed sandboxes left: VM processes, volume bindings, sockets (never data)')
    .option('--runtime-root <dir>', 'sandbox state folders', DEFAULT_RUNTIME_ROOT)
    .option('--root <dir>', 'direct-volume root (default: $KATA_DIRECT_VOLUME_ROOT_PATH or Kata\'s)')
    .option('--vm-templates <dir>', 'VM templates folder: unfinished makes of crashed runtimes (and their VMs) go too', DEFAULT_TEMPLATE_ROOT)
    .option('--json', 'print the report as JSON')
    .action(async (o: { runtimeRoot: string; root?: string; vmTemplates: string; json?: boolean }) => {
      const log = createLogger({ defaultLevel: 'warn' });
      const report = await cleanupOrphans(new SandboxDirs(o.runtimeRoot), new RecordStore(resolveDirectVolumeRoot(o.root)), log);
      const templates = await VmTemplates.folder(o.vmTemplates, log).cleanUp();
      if (o.json) process.stdout.write(`${JSON.stringify({ sandboxes: report, templates }, null, 2)}\n`);
      else if (report.length === 0 && templates.length === 0) process.stdout.write('nothing to clean up\n');
      else {
        for (const r of report) process.stdout.write(`${r.sandbox}: ${r.guestShutdown ? 'guest stopped cleanly, ' : ''}${r.killedVm ? 'VM killed, ' : ''}${r.releasedVolumes.length} volume binding(s) released\n`);
        for (const t of templates) process.stdout.write(`VM templates: ${t} removed\n`);
      }
    });
}
