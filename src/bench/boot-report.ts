// The boot benchmark as a table and a chart.
import { cpus } from 'node:os';
import { machineLine } from './bench-report.js';
import { BOOT_MODES, type BootBenchResult, type BootMode } from './boot-bench.js';
import { round } from './stats.js';
import { barChart } from './svg-bar-chart.js';

const LABELS: Record<BootMode, string> = { boot: 'booted', template: 'from a VM template' };
const AGENT_TARGET_MS = 3000;
const VOLUME_TARGET_MS = 1500;
const s = (ms: number) => round(ms / 1000, 2);

export function bootMarkdown(r: BootBenchResult): string {
  const cell = (x: { median: number; min: number; max: number }) => `${s(x.median)} (${s(x.min)}–${s(x.max)})`;
  const rows = BOOT_MODES.map((m) => {
    const x = r.summary[m];
    return `| ${LABELS[m]} | ${cell(x.agentReadyMs)} | ${cell(x.diskReadyMs)} | ${cell(x.createMs)} |`;
  });
  const met = (ms: number, target: number) => (ms < target ? 'met' : 'missed');
  const boot = r.summary.boot;
  const tpl = r.summary.template;
  return `## Sandbox start: booted against restored from a VM template

${r.rounds} rounds, one sandbox each way per round (which goes first alternates), each with one passed-through
ext4 disk; seconds, median (range). Acceleration: **${r.accel.toUpperCase()}**. Guest ${r.memoryMiB} MiB, ${r.cpus} CPU. ${cpus().length} host CPUs. ${machineLine(new Date(r.measuredAt))}.
${r.accel === 'tcg' ? `
Under TCG every guest instruction is emulated: a booted sandbox's time is almost all emulated kernel start-up and
Node's start in the guest, several times what KVM takes, so the booted figures are the ones TCG inflates most. A
restore skips that work, which is why the gap between the two rows is wider here than it would be under KVM. The
disk's hot-plug and mount is guest kernel work too, emulated in both rows alike.
` : ''}
| start | launch to agent ready (s) | disk hot-plug + guest mount (s) | whole sandbox create (s) |
|---|---|---|---|
${rows.join('\n')}

From a template the agent is ready ${round(boot.agentReadyMs.median / tpl.agentReadyMs.median, 1)}× sooner. Agent ready under 3 s:
booted ${met(boot.agentReadyMs.median, AGENT_TARGET_MS)} (${s(boot.agentReadyMs.median)} s), from a template ${met(tpl.agentReadyMs.median, AGENT_TARGET_MS)} (${s(tpl.agentReadyMs.median)} s).
Disk ready under 1.5 s: booted ${met(boot.diskReadyMs.median, VOLUME_TARGET_MS)}, from a template ${met(tpl.diskReadyMs.median, VOLUME_TARGET_MS)}.
Making the template took ${s(r.templateMakeMs)} s (one boot until every module is loaded, then the save); the first
sandbox of a shape pays it, or \`passvol template make\` at node set-up. A restore copies the template's RAM
(what the guest touched, sparse), reads ~0.4 MB of device state, hot-plugs the virtio-fs share and sets the clock.
Templates are opt-in (\`--vm-templates DIR\`): clones share the template's kernel layout; see docs/operations.md.

Memory once the sandbox is up (median): QEMU's resident set ${Math.round(boot.qemuRssMiB.median)} MiB booted, ${Math.round(tpl.qemuRssMiB.median)} MiB from a
template (a clone maps its own copy of what the template had touched, and under TCG a booted QEMU also holds
the code it translated while booting); free in the ${r.memoryMiB} MiB guest:
${Math.round(boot.guestAvailableMiB.median)} and ${Math.round(tpl.guestAvailableMiB.median)} MiB.
`;
}

export function bootSvg(r: BootBenchResult): string {
  const groups = (['agentReadyMs', 'diskReadyMs', 'createMs'] as const).map((k) => ({
    label: { agentReadyMs: 'agent ready', diskReadyMs: 'disk ready', createMs: 'sandbox create' }[k],
    bars: BOOT_MODES.map((m) => ({ series: LABELS[m], value: s(r.summary[m][k].median) })),
  }));
  return barChart(`Sandbox start under ${r.accel.toUpperCase()} (s, median, lower is better)`, 's', groups);
}
