// A container's own limits (its bundle's linux.resources), which the agent sets on the container's cgroup in
// the guest: memory, CPU quota and shares, pids, and whether an OOM kill takes the whole container (cgroup
// v2's memory.oom.group, which kubelet sets in linux.resources.unified). No limit is no field. A CPU period
// the kernel would refuse is refused here, naming the field; a quota under the kernel's 1 ms is raised to
// it, as kubelet does.
import { invalidArgument } from '../../common/errors.js';
import type { ContainerResources } from '../../protocol/index.js';
import type { LinuxResources, OciSpec } from '../oci/bundle.js';

const MIN_PERIOD = 1000;
const MIN_QUOTA = 1000;
const MAX_PERIOD = 1_000_000;
const MAX_SHARES = 262_144;

export function containerLimitsOf(spec: OciSpec): ContainerResources {
  return limitsOf(spec.linux?.resources);
}

/** The same for LinuxResources on their own (what CRI's UpdateContainerResources sends). */
export function limitsOf(r: LinuxResources | undefined): ContainerResources {
  const out: ContainerResources = {};
  const memory = r?.memory?.limit;
  if (memory !== undefined && memory > 0) out.memoryLimitBytes = memory;
  const quota = r?.cpu?.quota;
  if (quota !== undefined && quota > 0) {
    const period = r?.cpu?.period || 100_000;
    if (period < MIN_PERIOD || period > MAX_PERIOD) throw invalidArgument(`linux.resources.cpu.period ${period} is outside ${MIN_PERIOD}..${MAX_PERIOD} microseconds`);
    out.cpuQuotaMicros = Math.max(quota, MIN_QUOTA);
    out.cpuPeriodMicros = period;
  }
  // 0 is "not set"; kubelet gives 2 for BestEffort and at least 2 otherwise.
  const shares = r?.cpu?.shares;
  if (shares !== undefined && shares > 0) out.cpuShares = Math.min(Math.max(shares, 2), MAX_SHARES);
  const pids = r?.pids?.limit;
  if (pids !== undefined && pids > 0) out.pidsLimit = pids;
  if (r?.unified?.['memory.oom.group'] === '1') out.oomGroup = true;
  return out;
}
