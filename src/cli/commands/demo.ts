// `passvol demo`: the walk-through a newcomer runs first. Exits non-zero when any check fails.
import { Command } from 'commander';
import { DemoReport } from '../../demo/demo-report.js';
import { join } from 'node:path';
import { runDemo } from '../../demo/run-demo.js';
import { sandboxWalkthrough } from '../../demo/sandbox-walkthrough.js';
import { createLogger } from '../../common/logger.js';
import { cleanUpOnInterrupt } from '../../common/scratch-cleanup.js';
import { runtimeDeps } from '../runtime-setup.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('demonstrate passvol on the embedded defaults, checking every step')
    .option('--json', 'print each check as a JSON line')
    .option('--work-dir <dir>', 'keep the demo files here instead of a removed scratch folder')
    .action(async (o: { json?: boolean; workDir?: string }) => {
      const report = new DemoReport(o.json ?? false);
      const log = createLogger({ level: 'error' });
      const scratch: string[] = [];
      cleanUpOnInterrupt(() => scratch);
      await runDemo(report, {
        ...(o.workDir ? { workDir: o.workDir } : {}),
        onScratch: (dir) => scratch.push(dir),
        sandbox: async (volumes, node) => {
          const flags = { root: node.directVolumes, runtimeRoot: join(node.work, 'sandboxes'), goShimRoot: node.goShims };
          const deps = await runtimeDeps(flags, log);
          // In the scratch folder, so an interrupted demo's cleanup takes the template (and its VM) too.
          const cloneDeps = await runtimeDeps({ ...flags, vmTemplates: join(node.work, 'vm-templates') }, log);
          await sandboxWalkthrough(node, volumes, report, deps, cloneDeps);
        },
      });
      report.summary();
      if (report.failed > 0) process.exitCode = 1;
    });
}
