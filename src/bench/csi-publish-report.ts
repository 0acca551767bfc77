// The CSI publish benchmark as a table and a chart.
import { cpus } from 'node:os';
import { machineLine } from './bench-report.js';
import type { CsiBenchResult } from './csi-publish-bench.js';
import { round } from './stats.js';
import { barChart } from './svg-bar-chart.js';

export function csiPublishMarkdown(r: CsiBenchResult): string {
  const row = (k: 'passthrough' | 'host') => {
    const p = r.paths[k];
    return `| ${k} | ${round(p.publishMs.median)} | ${round(p.publishMs.p99)} | ${round(p.unpublishMs.median)} | ${round(p.unpublishMs.p99)} | ${Math.round(p.opsPerSecond)} | ${round(p.soloPublishMs.median)} | ${round(p.soloPublishMs.p99)} |`;
  };
  const pass = r.paths.passthrough.publishMs;
  const solo = r.paths.passthrough.soloPublishMs;
  return `## NodePublish / NodeUnpublish, ${r.callers} concurrent callers on different volumes

${r.rounds} rounds of ${r.callers} publishes then ${r.callers} unpublishes per path, the two paths interleaved round by
round; ${r.paths.passthrough.publishMs.n} samples per call and path. After each concurrent round one caller publishes and
unpublishes every volume in turn ("alone": the latency of a publish on a quiet node). ${cpus().length} CPUs. ${machineLine(new Date(r.measuredAt))}.
Records on a tmpfs, as under /run/kata-containers in production; disk images and host mounts on the local disk.
The driver runs as its own process (the built \`dist/\`) with deploy/'s Node flags (\`${r.driverNodeOptions}\`);
the callers share the ${cpus().length} CPUs with it.

| path | publish median ms | publish p99 ms | unpublish median ms | unpublish p99 ms | ops/s | alone: publish median ms | alone: publish p99 ms |
|---|---|---|---|---|---|---|---|
${row('passthrough')}
${row('host')}

Passthrough publish median ${round(pass.median)} ms (target < 2 ms: ${pass.median < 2 ? 'met' : 'missed'}), p99 ${round(pass.p99)} ms (target < 10 ms: ${pass.p99 < 10 ? 'met' : 'missed'}).
With ${r.callers} calls in flight against one driver process, a call mostly waits for the others: Little's law gives
${r.callers} ÷ ${Math.round(r.paths.passthrough.opsPerSecond)} ops/s = ${round((r.callers / r.paths.passthrough.opsPerSecond) * 1000, 1)} ms in the driver per call, against the ${round(pass.median, 1)} ms median measured. Each call takes about
${round(1000 / r.paths.passthrough.opsPerSecond, 2)} ms of the machine (gRPC on both ends, request checks, the mount table read, the record's durable write;
the driver and its callers share ${cpus().length} CPUs): meeting the target at this concurrency needs calls ${round(pass.median / 2, 0)}× cheaper, not a wait removed.
Host-path publish is ${round(r.paths.host.publishMs.median / pass.median, 1)}× slower at the median (it runs \`mount\`).
A publish alone takes ${round(solo.median)} ms at the median (target < 2 ms: ${solo.median < 2 ? 'met' : 'missed'}), p99 ${round(solo.p99)} ms (target < 10 ms: ${solo.p99 < 10 ? 'met' : 'missed'}).
Driver RSS: ${round(r.driverRssMiB.idle, 1)} MiB (${round(r.driverRssMiB.idle * 1.048576, 1)} MB) idle, ${round(r.driverRssMiB.peak, 1)} MiB (${round(r.driverRssMiB.peak * 1.048576, 1)} MB) peak (target < 100 MB: ${
    r.driverRssMiB.peak * 1.048576 < 100 ? 'met' : 'missed'
  }); about 45 MB of it is the node binary's own code, shared with every Node process on the host.
`;
}

export function csiPublishSvg(r: CsiBenchResult): string {
  const groups = (['publishMs', 'unpublishMs'] as const).flatMap((op) =>
    (['median', 'p99'] as const).map((q) => ({
      label: `${op === 'publishMs' ? 'NodePublish' : 'NodeUnpublish'} ${q}`,
      bars: (['passthrough', 'host'] as const).map((k) => ({ series: k, value: r.paths[k][op][q] })),
    })),
  );
  return barChart(`CSI node calls, ${r.callers} concurrent callers (ms, lower is better)`, 'ms', groups);
}
