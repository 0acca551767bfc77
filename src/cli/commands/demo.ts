// `passvol demo`: the walk-through a newcomer runs first. Exits non-zero when any check fails, a step that
// failed included.
import { Command } from 'commander';
import { DemoReport } from '../../demo/demo-report.js';
import { join } from 'node:path';
import { runDemo } from '../../demo/run-demo.js';
import { sandboxWalkthrough } from '../../demo/sandbox-walkthrough.js';
import { cleanUpDemoOnInterrupt, type DemoWorkDir } from '../../demo/demo-cleanup.js';
import { createLogger } from '../../common/logger.js';
import { runtimeDeps } from '../runtime-setup.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('demonstrate passvol on the embedded defaults, checking every step')
    .option('--json', 'print each check as a JSON line')
    .option('--work-dir <dir>', 'keep the demo files here instead of a removed scratch folder')
    .action(async (o: { json?: boolean; workDir?: string }) => {
      const report = new DemoReport(o.json ?? false);
      const log = createLogger({ level: 'error' });
      // Ctrl-C ends the VMs, servers, mounts and loop devices in the work folder, --work-dir or not.
      const workDirs: DemoWorkDir[] = [];
      cleanUpDemoOnInterrupt(() => workDirs);
      await runDemo(report, {
        ...(o.workDir ? { workDir: o.workDir } : {}),
        onWorkDir: (dir, madeByDemo) => workDirs.push({ dir, madeByDemo }),
        sandbox: async (volumes, node) => {
          report.step('Prepare the sandbox runtime: the guest image, QEMU, and a VM templates folder in the work folder');
          const flags = { root: node.directVolumes, runtimeRoot: join(node.work, 'sandboxes'), goShimRoot: node.goShims };
          const deps = await runtimeDeps(flags, log);
          // In the work folder, so an interrupted demo's cleanup takes the template (and its VM) too.
          const cloneDeps = await runtimeDeps({ ...flags, vmTemplates: join(node.work, 'vm-templates') }, log);
          await sandboxWalkthrough(node, volumes, report, deps, cloneDeps);
        },
      });
      report.summary();
      if (report.failed > 0) process.exitCode = 1;
    });
}
