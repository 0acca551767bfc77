// `passvol bench <what>`: runs a benchmark and writes JSON, Markdown and SVG results. Never part of tests.
import { Command } from 'commander';
import { z } from 'zod';
import { invalidArgument } from '../../common/errors.js';
import { writeReport } from '../../bench/bench-report.js';
import { runCsiPublishBench } from '../../bench/csi-publish-bench.js';
import { csiPublishMarkdown, csiPublishSvg } from '../../bench/csi-publish-report.js';

const CsiOptions = z.object({ out: z.string().min(1), callers: z.coerce.number().int().min(1).max(256), rounds: z.coerce.number().int().min(1).max(100) });

export function benchCommand(): Command {
  const bench = new Command('bench').description('measure passvol (writes results files and a chart)');
  bench
    .command('csi')
    .description('NodePublish/NodeUnpublish latency: passthrough vs host mounts, many concurrent callers; driver memory')
    .option('--out <dir>', 'results folder', 'bench/results')
    .option('--callers <n>', 'concurrent callers, each on its own volume', '32')
    .option('--rounds <n>', 'rounds per path', '10')
    .action(async (raw) => {
      const parsed = CsiOptions.safeParse(raw);
      if (!parsed.success) throw invalidArgument(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
      const o = parsed.data;
      const result = await runCsiPublishBench({ callers: o.callers, rounds: o.rounds, onProgress: (l) => process.stderr.write(`[bench csi] ${l}\n`) });
      const md = csiPublishMarkdown(result);
      const files = await writeReport(o.out, 'csi-publish', result, md, csiPublishSvg(result));
      process.stdout.write(`${md}\nwrote ${files.json}, ${files.markdown}, ${files.svg}\n`);
    });
  return bench;
}
