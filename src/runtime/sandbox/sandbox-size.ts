// How big a sandbox's VM is: the configured base (what the guest kernel, the agent and the pod's plumbing
// need) plus the pod's own limits, as Kata sizes a VM when it does not hot-plug (static sandbox sizing).
// A pod's limits come from CRI's annotations on the pod's sandbox (containerd sums its containers' limits
// there since Kubernetes 1.23); a bundle run on its own brings them in linux.resources. A pod without limits
// gets the base: it may use it all, as a container without limits may use the node. The VM is sized once,
// at start: containers added later do not grow it (Kubernetes knows every container's limits up front).
import { z } from 'zod';
import { invalidArgument } from '../../common/errors.js';
import type { OciSpec } from '../oci/bundle.js';

export interface SandboxSize {
  memoryMiB: number;
  cpus: number;
}

/** The pod's limits and where they were read; zero is no limit. */
export interface PodLimits {
  memoryBytes: number;
  /** vCPUs the CPU quota amounts to, rounded up. */
  cpus: number;
  from: 'pod annotations' | 'linux.resources' | 'none';
}

const CONTAINER_TYPE = 'io.kubernetes.cri.container-type';
export const SANDBOX_MEMORY = 'io.kubernetes.cri.sandbox-memory';
export const SANDBOX_CPU_QUOTA = 'io.kubernetes.cri.sandbox-cpu-quota';
export const SANDBOX_CPU_PERIOD = 'io.kubernetes.cri.sandbox-cpu-period';
const MiB = 1024 * 1024;

const wholeNumber = (min: number) => z.string().regex(/^-?\d+$/).transform(Number).pipe(z.number().int().min(min).max(Number.MAX_SAFE_INTEGER));
const Count = wholeNumber(0);
// cgroups take -1 for "no quota"; kubelet writes 0.
const Quota = wholeNumber(-1);

function annotation(spec: OciSpec, key: string, schema: typeof Count): number | undefined {
  const raw = spec.annotations[key];
  if (raw === undefined || raw === '') return undefined;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidArgument(`annotation ${key}="${raw}" is not a whole number in range`);
  return parsed.data;
}

function cpusOf(quota: number | undefined, period: number | undefined): number {
  return quota !== undefined && quota > 0 && period !== undefined && period > 0 ? Math.ceil(quota / period) : 0;
}

/** The limits a sandbox's bundle asks for: the pod's, when it is CRI's pod sandbox, else its own process's. */
export function podLimitsOf(spec: OciSpec): PodLimits {
  if (spec.annotations[CONTAINER_TYPE] === 'sandbox') {
    const memoryBytes = annotation(spec, SANDBOX_MEMORY, Count) ?? 0;
    const cpus = cpusOf(annotation(spec, SANDBOX_CPU_QUOTA, Quota), annotation(spec, SANDBOX_CPU_PERIOD, Count));
    return { memoryBytes, cpus, from: memoryBytes > 0 || cpus > 0 ? 'pod annotations' : 'none' };
  }
  const resources = spec.linux?.resources;
  const limit = resources?.memory?.limit ?? 0;
  const memoryBytes = limit > 0 ? limit : 0;
  const cpus = cpusOf(resources?.cpu?.quota, resources?.cpu?.period);
  return { memoryBytes, cpus, from: memoryBytes > 0 || cpus > 0 ? 'linux.resources' : 'none' };
}

export interface SizeCeiling {
  /** The host's CPUs: more vCPUs than that only contend with each other. */
  cpus: number;
  /** The host's memory: QEMU maps guest RAM as it is touched, but a guest larger than the host is a mistake. */
  memoryMiB: number;
}

/** The VM for a pod: base plus limits, each held to the ceiling; says what was held. */
export function sandboxSize(base: SandboxSize, limits: PodLimits, ceiling: SizeCeiling): SandboxSize & { capped: string[] } {
  const capped: string[] = [];
  const wantMiB = base.memoryMiB + Math.ceil(limits.memoryBytes / MiB);
  const wantCpus = base.cpus + limits.cpus;
  const memoryMiB = Math.min(wantMiB, Math.max(base.memoryMiB, ceiling.memoryMiB));
  const cpus = Math.min(wantCpus, Math.max(base.cpus, ceiling.cpus));
  if (memoryMiB < wantMiB) capped.push(`memory ${wantMiB} MiB held to the host's ${memoryMiB} MiB`);
  if (cpus < wantCpus) capped.push(`${wantCpus} vCPUs held to the host's ${cpus} CPUs`);
  return { memoryMiB, cpus, capped };
}
