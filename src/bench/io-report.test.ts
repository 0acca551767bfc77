import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IoBenchResult, WorkloadResult } from './io-bench.js';
import { ioBenchMarkdown, ioBenchSvg, speedup } from './io-report.js';
import { summarize } from './stats.js';

const cell = (xs: number[]) => ({ samples: xs, summary: summarize(xs), hostCpuMsPerOp: {} });
const untar: WorkloadResult = { id: 'untar', label: 'unpack', unit: 's', better: 'lower', paths: { host: cell([0.2]), blk: cell([2, 2.2, 1.8]), virtiofs: cell([20, 18, 22]), '9p': cell([150]) } };
const fsync: WorkloadResult = { id: 'fsync-loop', label: 'fsync', unit: 'IOPS', better: 'higher', paths: { blk: cell([300]), virtiofs: cell([600]) } };

test('speedup: above 1 means the first path wins, whichever way the unit points', () => {
  assert.equal(speedup(untar, 'blk', 'virtiofs'), 10);
  assert.equal(speedup(fsync, 'blk', 'virtiofs'), 0.5);
  assert.equal(speedup(fsync, 'blk', 'host'), undefined);
});

test('the report states the acceleration, the medians with ranges, and which targets were met', () => {
  const r: IoBenchResult = {
    benchmark: 'io', startedAt: '2026-12-01T10:00:00Z', finishedAt: '2026-12-01T10:30:00Z',
    setup: { accel: 'tcg' }, params: { fioSeconds: 5, fioFileMiB: 64, files: 2000, tarball: '3 files', tarballFiles: 3, rounds: 3 },
    workloads: [untar, fsync], bootMs: summarize([5000, 6000]), attachMs: { blk: summarize([300]) }, rounds: [],
  };
  const md = ioBenchMarkdown(r);
  assert.match(md, /\*\*TCG\*\*/);
  assert.match(md, /understate what it gains under KVM/);
  assert.match(md, /\| 2\.00<br><sub>1\.80–2\.20<\/sub> \|/);
  assert.match(md, /passthrough untar ≥ 8× virtio-fs \| 10× \| yes \|/);
  assert.match(md, /passthrough fsync-loop ≥ 1× virtio-fs \| 0\.5× \| \*\*no\*\* \|/);
  assert.match(md, /passthrough create ≥ 4× virtio-fs \| - \| not measured \|/);
  const svg = ioBenchSvg(r);
  assert.match(svg, /^<svg[\s\S]*vs virtio-fs[\s\S]*<\/svg>\n$/);
  // Decade ticks on a log axis, a win right of the 1× line, a loss left of it with its label before the bar.
  assert.match(svg, />0\.1×<\/text>[\s\S]*>1×<\/text>[\s\S]*>10×<\/text>/);
  assert.match(svg, /text-anchor="start"|>10\.0×<\/text>/);
  assert.match(svg, /text-anchor="end">0\.50×<\/text>/);
});
