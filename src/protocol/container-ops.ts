// Ops on containers and their processes.
import { z } from 'zod';
import { AbsolutePath, Base64, EnvEntry, ObjectId, PosixId, Signal } from './primitives.js';

/** Any name: those the agent does not know are left out (and logged), as runc skips them. */
const CapabilityName = z.string().min(1).max(64);

export const ProcessSpec = z
  .object({
    args: z.array(z.string().max(128 * 1024)).min(1).max(4096),
    env: z.array(EnvEntry).max(4096).default([]),
    /** Working directory inside the container. */
    cwd: AbsolutePath.default('/'),
    uid: PosixId,
    gid: PosixId,
    /** Supplementary groups (OCI additionalGids: Kubernetes puts fsGroup and supplementalGroups here). */
    additionalGids: z.array(PosixId).max(64).default([]),
    /** OCI process.oomScoreAdj (kubelet's by QoS class); an exec without one takes its container's. */
    oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
    /** A terminal (kubectl exec -it, tty: true): stdin, stdout and stderr are one pty; output comes as stdout. */
    terminal: z.boolean().default(false),
    /**
     * OCI process.capabilities (names such as CAP_CHOWN): what a process running as root keeps; an exec
     * without them takes its container's. A process of another user has none, as on a node.
     */
    capabilities: z
      .object({
        bounding: z.array(CapabilityName).max(64).default([]),
        effective: z.array(CapabilityName).max(64).default([]),
        permitted: z.array(CapabilityName).max(64).default([]),
        inheritable: z.array(CapabilityName).max(64).default([]),
        ambient: z.array(CapabilityName).max(64).default([]),
      })
      .strict()
      .optional(),
    /** OCI process.noNewPrivileges; an exec without it takes its container's. */
    noNewPrivileges: z.boolean().optional(),
    /** The terminal's first size (OCI process.consoleSize); resizeTerminal changes it. */
    terminalSize: z.object({ rows: z.number().int().min(1).max(10_000), cols: z.number().int().min(1).max(10_000) }).strict().optional(),
  })
  .strict();
export type ProcessSpec = z.infer<typeof ProcessSpec>;

export const ContainerMount = z
  .object({
    /** A guest path (a volume the agent mounted, under /run/passvol/). */
    source: AbsolutePath,
    /** Absolute path inside the container. */
    destination: AbsolutePath,
    readonly: z.boolean().default(false),
    /** Only private propagation is offered: the container's mount namespace is private. */
    propagation: z.enum(['private', 'rprivate']).optional(),
  })
  .strict();
export type ContainerMount = z.infer<typeof ContainerMount>;

/** Filesystems the guest kernel makes for a container (OCI's sysfs, tmpfs, devpts, mqueue, cgroup mounts). */
export const KERNEL_FSTYPES = ['sysfs', 'tmpfs', 'devpts', 'mqueue', 'cgroup2'] as const;

export const KernelMount = z
  .object({
    fstype: z.enum(KERNEL_FSTYPES),
    /** Absolute path inside the container. */
    destination: AbsolutePath,
    /** mount(8) options, one per entry; the agent accepts a short list per type. */
    options: z.array(z.string().min(1).max(256)).max(32).default([]),
  })
  .strict();
export type KernelMount = z.infer<typeof KernelMount>;

/** A bind of a guest volume, or a filesystem the guest kernel makes; applied in order. */
export const ContainerMountEntry = z.union([ContainerMount, KernelMount]);
export type ContainerMountEntry = z.infer<typeof ContainerMountEntry>;

/** The container's limits (OCI linux.resources), enforced by a cgroup of its own in the guest. */
export const ContainerResources = z
  .object({
    memoryLimitBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    /** CPU time per period, in microseconds (CFS quota); with cpuPeriodMicros. */
    cpuQuotaMicros: z.number().int().min(1000).max(Number.MAX_SAFE_INTEGER).optional(),
    cpuPeriodMicros: z.number().int().min(1000).max(1_000_000).optional(),
    /** cgroup v1 shares (2..262144), as kubelet gives them; weighed against the pod's other containers. */
    cpuShares: z.number().int().min(2).max(262_144).optional(),
    pidsLimit: z.number().int().positive().max(4_194_304).optional(),
    /** An OOM kill takes every process of the container (memory.oom.group), as kubelet asks on cgroup v2. */
    oomGroup: z.boolean().optional(),
  })
  .strict();
export type ContainerResources = z.infer<typeof ContainerResources>;

export const CreateContainerArgs = z
  .object({
    containerId: ObjectId,
    /** Guest path of the container's root filesystem, already mounted (under /run/passvol/). */
    rootfs: AbsolutePath,
    /** OCI root.readonly (Kubernetes readOnlyRootFilesystem): the root is read-only once its mounts are made. */
    rootfsReadonly: z.boolean().default(false),
    mounts: z.array(ContainerMountEntry).max(256).default([]),
    /** The container's init process, started by startProcess without a `process`. */
    process: ProcessSpec,
    resources: ContainerResources.default({}),
  })
  .strict();

export const StartProcessArgs = z
  .object({
    containerId: ObjectId,
    execId: ObjectId,
    /** Omitted: start the container's init process. Given: exec another process in the container. */
    process: ProcessSpec.optional(),
  })
  .strict();
export const StartProcessResult = z.object({ pid: z.number().int().positive() });

const ProcessRef = { containerId: ObjectId, execId: ObjectId };

export const SignalArgs = z
  .object({
    ...ProcessRef,
    signal: Signal,
    /** Every process in the container's PID namespace (`runc kill --all`), not only the one `execId` names. */
    all: z.boolean().optional(),
  })
  .strict();
export const WaitArgs = z.object(ProcessRef).strict();
export const WaitResult = z.object({
  /** The exit status; 128 + signal number when a signal ended the process. */
  exitCode: z.number().int().min(0).max(255),
  signal: z.string().optional(),
});
export const WriteStdinArgs = z.object({ ...ProcessRef, data: Base64 }).strict();
export const WriteStdinResult = z.object({ bytes: z.number().int().nonnegative() });
export const CloseStdinArgs = z.object(ProcessRef).strict();
/** New limits for a running container: the fields given are set, the others left as they are. */
export const UpdateContainerArgs = z.object({ containerId: ObjectId, resources: ContainerResources }).strict();

export const ResizeTerminalArgs = z
  .object({ containerId: ObjectId, execId: ObjectId, rows: z.number().int().min(1).max(10_000), cols: z.number().int().min(1).max(10_000) })
  .strict();

/** Freezes every process of a container (its cgroup's freezer), or thaws it. */
export const FreezeContainerArgs = z.object({ containerId: ObjectId, frozen: z.boolean() }).strict();

export const ContainerStatsArgs = z.object({ containerId: ObjectId }).strict();
const Count = z.number().int().nonnegative();
/** A container's cgroup figures (cgroup v2's names): what kubelet's resource metrics read through CRI. */
export const ContainerStatsResult = z.object({
  cpu: z.object({ usageUsec: Count, userUsec: Count, systemUsec: Count, nrPeriods: Count, nrThrottled: Count, throttledUsec: Count }),
  memory: z.object({
    /** memory.current, and memory.max (0: no limit). */
    usage: Count,
    limit: Count,
    anon: Count,
    file: Count,
    kernelStack: Count,
    slab: Count,
    sock: Count,
    shmem: Count,
    fileMapped: Count,
    fileDirty: Count,
    inactiveAnon: Count,
    activeAnon: Count,
    inactiveFile: Count,
    activeFile: Count,
    unevictable: Count,
    pgfault: Count,
    pgmajfault: Count,
  }),
  memoryEvents: z.object({ low: Count, high: Count, max: Count, oom: Count, oomKill: Count }),
  /** pids.current, and pids.max (0: no limit). */
  pids: z.object({ current: Count, limit: Count }),
});
export type ContainerStatsResult = z.infer<typeof ContainerStatsResult>;

export const DeleteContainerArgs = z
  .object({
    containerId: ObjectId,
    /** Kill processes still running (SIGKILL) instead of refusing with FAILED_PRECONDITION. */
    force: z.boolean().optional(),
  })
  .strict();
