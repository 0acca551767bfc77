import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BootBenchResult } from './boot-bench.js';
import { bootMarkdown, bootSvg } from './boot-report.js';
import { summarize } from './stats.js';

const result: BootBenchResult = {
  measuredAt: '2026-12-02T00:00:00Z',
  accel: 'tcg',
  rounds: 3,
  memoryMiB: 512,
  cpus: 1,
  templateMakeMs: 9000,
  samples: [],
  summary: {
    boot: { agentReadyMs: summarize([4100, 4300, 4200]), diskReadyMs: summarize([330, 350, 340]), createMs: summarize([5000, 5200, 5100]), qemuRssMiB: summarize([230, 240, 235]), guestAvailableMiB: summarize([300, 310, 305]) },
    template: { agentReadyMs: summarize([900, 1000, 950]), diskReadyMs: summarize([320, 360, 340]), createMs: summarize([1500, 1600, 1550]), qemuRssMiB: summarize([250, 260, 255]), guestAvailableMiB: summarize([290, 300, 295]) },
  },
};

test('the boot report gives medians with ranges, the ratio, and each target as met or missed', () => {
  const md = bootMarkdown(result);
  assert.match(md, /\| booted \| 4\.2 \(4\.1–4\.3\) \| 0\.34 \(0\.33–0\.35\) \| 5\.1 \(5–5\.2\) \|/);
  assert.match(md, /\| from a VM template \| 0\.95 \(0\.9–1\) \|/);
  assert.match(md, /ready 4\.4× sooner/);
  assert.match(md, /booted missed \(4\.2 s\), from a template met \(0\.95 s\)/);
  assert.match(md, /\*\*TCG\*\*/);
  assert.match(md, /resident set 235 MiB booted, 255 MiB from a\ntemplate/);
  assert.match(md, /free in the 512 MiB guest:\n305 and 295 MiB/);
  assert.match(bootSvg(result), /^<svg[\s\S]*from a VM template[\s\S]*<\/svg>\n$/);
});
