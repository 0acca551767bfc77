// A sandbox's Prometheus metrics, served on its monitor socket at GET /metrics as Kata's shim serves its own
// (kata-monitor scrapes every shim's socket and adds the sandbox's id). Read at each scrape and kept
// nowhere, as Kata's design asks: the hypervisor's process from /proc, the guest's memory and load and each
// container's cgroup from the agent, the sandbox's start and attach times, and this process's own figures.
import { readdir, readFile } from 'node:fs/promises';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { OpResult } from '../../protocol/index.js';

/** What the metrics are read from: a running sandbox. */
export interface SandboxMetricsSource {
  /** The hypervisor's pid, while it runs. */
  vmPid(): number | undefined;
  guestInfo(): Promise<OpResult<'guestInfo'>>;
  /** The ids of the sandbox's containers, and each one's cgroup figures (undefined when it has none). */
  containerStats(): Promise<{ id: string; stats: OpResult<'containerStats'> | undefined }[]>;
  timings: { bootMs: number; volumeMs: Record<string, number> };
  fromTemplate: boolean;
}

const CLOCK_TICKS = 100;

/** The shim's own process metrics: one registry for the life of the process (they are cumulative). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'passvol_shim_' });
  }
  return processRegistry;
}

/** The hypervisor's resident memory, CPU time and open descriptors, from /proc; undefined once it is gone. */
export async function hypervisorFigures(pid: number): Promise<{ rssBytes: number; cpuSeconds: number; fds: number } | undefined> {
  try {
    const [status, stat, fds] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8'), readdir(`/proc/${pid}/fd`)]);
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(after[11]) + Number(after[12]);
    return { rssBytes: rssKiB * 1024, cpuSeconds: ticks / CLOCK_TICKS, fds: fds.length };
  } catch {
    return undefined;
  }
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge<string> {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/** A counter read whole at each scrape (a fresh registry each time: inc from zero is set). */
function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter<string> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** The metrics text of one scrape. A part that cannot be read (the agent busy, the VM gone) is left out. */
export async function sandboxMetricsText(source: SandboxMetricsSource): Promise<string> {
  const r = new Registry();
  gauge(r, 'passvol_sandbox_boot_seconds', 'From the VM launch to its agent answering').set(source.timings.bootMs / 1000);
  gauge(r, 'passvol_sandbox_from_template', '1 when the VM was restored from a VM template, 0 when it booted').set(source.fromTemplate ? 1 : 0);
  const attach = gauge(r, 'passvol_volume_attach_seconds', 'Hot-plug and guest mount of each direct volume, by container path', ['destination']);
  for (const [destination, ms] of Object.entries(source.timings.volumeMs)) attach.set({ destination }, ms / 1000);

  const pid = source.vmPid();
  const vm = pid ? await hypervisorFigures(pid) : undefined;
  if (vm) {
    gauge(r, 'passvol_hypervisor_resident_memory_bytes', "QEMU's resident memory (the guest's touched RAM and its own)").set(vm.rssBytes);
    counter(r, 'passvol_hypervisor_cpu_seconds_total', 'CPU time QEMU has used (user and system)').inc(vm.cpuSeconds);
    gauge(r, 'passvol_hypervisor_fds', 'Descriptors QEMU holds open').set(vm.fds);
  }

  const [guest, containers] = await Promise.all([source.guestInfo().catch(() => undefined), source.containerStats().catch(() => [])]);
  if (guest) {
    const memory = gauge(r, 'passvol_guest_memory_bytes', "The guest's memory, from its /proc/meminfo", ['item']);
    memory.set({ item: 'total' }, guest.memTotalKiB * 1024);
    memory.set({ item: 'available' }, guest.memAvailableKiB * 1024);
    const load = gauge(r, 'passvol_guest_load', "The guest's load averages", ['item']);
    guest.loadavg.forEach((v, i) => load.set({ item: ['load1', 'load5', 'load15'][i] as string }, v));
    gauge(r, 'passvol_agent_resident_memory_bytes', "The guest agent's resident memory").set(guest.agentRssKiB * 1024);
  }
  const labels = ['container'];
  const cpu = counter(r, 'passvol_container_cpu_seconds_total', "CPU time of the container's cgroup in the guest", labels);
  const usage = gauge(r, 'passvol_container_memory_usage_bytes', "Memory of the container's cgroup in the guest (page cache included)", labels);
  const workingSet = gauge(r, 'passvol_container_memory_working_set_bytes', 'Memory usage less inactive page cache, as kubelet counts it', labels);
  const limit = gauge(r, 'passvol_container_memory_limit_bytes', "The container's memory limit (none: no series)", labels);
  const ooms = counter(r, 'passvol_container_oom_kills_total', 'Processes the kernel OOM-killed in the container', labels);
  const pids = gauge(r, 'passvol_container_pids', 'Processes and threads in the container', labels);
  for (const { id, stats } of containers) {
    if (!stats) continue;
    const c = { container: id };
    cpu.inc(c, stats.cpu.usageUsec / 1e6);
    usage.set(c, stats.memory.usage);
    workingSet.set(c, Math.max(0, stats.memory.usage - stats.memory.inactiveFile));
    if (stats.memory.limit > 0) limit.set(c, stats.memory.limit);
    ooms.inc(c, stats.memoryEvents.oomKill);
    pids.set(c, stats.pids.current);
  }
  return (await Registry.merge([processMetrics(), r]).metrics()).trimEnd() + '\n';
}

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
